//! The 80 COCO classes the model knows, named and placed in a hierarchy the
//! way Amazon Rekognition DetectLabels names and places them, so that one set
//! of camera rules (`labels = ["person", "vehicle", "pet"]`) means the same
//! with either detector.
//!
//! The order is the model's output order (the COCO class order). Names and
//! parents follow Rekognition's published label list where it has the
//! class; for the few COCO classes it words differently (`sports ball`,
//! `dining table`, `cell phone`) we use the nearest Rekognition label.

/// How Rekognition names one COCO class, and the ancestors it would list in
/// `Parents` (nearest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassName {
    pub name: &'static str,
    pub parents: &'static [&'static str],
}

const VEHICLE: &[&str] = &["Vehicle", "Transportation"];
const AIRCRAFT: &[&str] = &["Aircraft", "Vehicle", "Transportation"];
const WATERCRAFT: &[&str] = &["Watercraft", "Vehicle", "Transportation"];
const ANIMAL: &[&str] = &["Animal"];
const MAMMAL: &[&str] = &["Animal", "Mammal"];
const WILD_MAMMAL: &[&str] = &["Animal", "Mammal", "Wildlife"];
const FURNITURE: &[&str] = &["Furniture"];
const SPORT: &[&str] = &["Sport"];
const TOY: &[&str] = &["Toy"];
const CUTLERY: &[&str] = &["Cutlery"];
const FRUIT: &[&str] = &["Food", "Fruit", "Plant", "Produce"];
const VEGETABLE: &[&str] = &["Food", "Plant", "Produce", "Vegetable"];
const FOOD: &[&str] = &["Food"];
const DESSERT: &[&str] = &["Food", "Dessert"];
const ELECTRONICS: &[&str] = &["Electronics"];
const COMPUTER_HARDWARE: &[&str] = &["Computer Hardware", "Electronics", "Hardware"];
const APPLIANCE: &[&str] = &["Appliance", "Device", "Electrical Device"];

const fn class(name: &'static str, parents: &'static [&'static str]) -> ClassName {
    ClassName { name, parents }
}

/// The model's classes, index = position of its score in the output.
pub const COCO_CLASSES: [ClassName; 80] = [
    class("Person", &[]),
    class("Bicycle", VEHICLE),
    class("Car", VEHICLE),
    class("Motorcycle", VEHICLE),
    class("Airplane", AIRCRAFT),
    class("Bus", VEHICLE),
    class("Train", VEHICLE),
    class("Truck", VEHICLE),
    class("Boat", WATERCRAFT),
    class("Traffic Light", &["Light"]),
    class("Fire Hydrant", &["Hydrant"]),
    class("Stop Sign", &["Road Sign", "Sign", "Symbol"]),
    class("Parking Meter", &[]),
    class("Bench", FURNITURE),
    class("Bird", ANIMAL),
    class("Cat", &["Animal", "Mammal", "Pet"]),
    class("Dog", &["Animal", "Mammal", "Pet", "Canine"]),
    class("Horse", MAMMAL),
    class("Sheep", MAMMAL),
    class("Cow", &["Cattle", "Animal", "Mammal"]),
    class("Elephant", WILD_MAMMAL),
    class("Bear", WILD_MAMMAL),
    class("Zebra", WILD_MAMMAL),
    class("Giraffe", WILD_MAMMAL),
    class("Backpack", &["Bag"]),
    class("Umbrella", &[]),
    class("Handbag", &["Bag", "Accessories"]),
    class("Tie", &["Accessories", "Formal Wear", "Clothing"]),
    class("Suitcase", &["Baggage"]),
    class("Frisbee", TOY),
    class("Ski", SPORT),
    class("Snowboard", SPORT),
    class("Ball", SPORT),
    class("Kite", TOY),
    class("Baseball Bat", SPORT),
    class("Baseball Glove", &["Glove", "Clothing", "Sport"]),
    class("Skateboard", SPORT),
    class("Surfboard", SPORT),
    class("Tennis Racket", &["Racket", "Sport"]),
    class("Bottle", &[]),
    class("Wine Glass", &["Glass"]),
    class("Cup", &[]),
    class("Fork", CUTLERY),
    class("Knife", &["Cutlery", "Weapon"]),
    class("Spoon", CUTLERY),
    class("Bowl", &[]),
    class("Banana", FRUIT),
    class("Apple", FRUIT),
    class("Sandwich", FOOD),
    class(
        "Orange",
        &["Citrus Fruit", "Food", "Fruit", "Plant", "Produce"],
    ),
    class("Broccoli", VEGETABLE),
    class("Carrot", VEGETABLE),
    class("Hot Dog", FOOD),
    class("Pizza", FOOD),
    class("Donut", &["Food", "Dessert", "Pastry", "Sweets"]),
    class("Cake", DESSERT),
    class("Chair", FURNITURE),
    class("Couch", FURNITURE),
    class("Potted Plant", &["Plant"]),
    class("Bed", FURNITURE),
    class("Dining Table", &["Table", "Furniture"]),
    class("Toilet", &["Bathroom", "Indoors", "Room"]),
    class("TV", &["Screen", "Electronics"]),
    class("Laptop", &["Computer", "Electronics", "Pc"]),
    class("Mouse", COMPUTER_HARDWARE),
    class("Remote Control", ELECTRONICS),
    class("Computer Keyboard", COMPUTER_HARDWARE),
    class("Mobile Phone", &["Phone", "Electronics"]),
    class("Microwave", APPLIANCE),
    class("Oven", APPLIANCE),
    class("Toaster", APPLIANCE),
    class("Sink", &[]),
    class("Refrigerator", APPLIANCE),
    class("Book", &["Publication"]),
    class("Clock", &[]),
    class("Vase", &["Jar", "Pottery"]),
    class("Scissors", &["Blade", "Weapon"]),
    class("Teddy Bear", TOY),
    class("Hair Dryer", APPLIANCE),
    class("Toothbrush", &["Brush", "Tool"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classes_a_camera_cares_about_are_where_the_model_puts_them() {
        assert_eq!(COCO_CLASSES[0].name, "Person");
        assert!(COCO_CLASSES[0].parents.is_empty());
        assert_eq!(COCO_CLASSES[2].name, "Car");
        assert_eq!(COCO_CLASSES[2].parents, ["Vehicle", "Transportation"]);
        assert_eq!(COCO_CLASSES[7].name, "Truck");
        assert_eq!(COCO_CLASSES[15].name, "Cat");
        assert_eq!(COCO_CLASSES[16].name, "Dog");
        assert_eq!(
            COCO_CLASSES[16].parents,
            ["Animal", "Mammal", "Pet", "Canine"]
        );
        assert_eq!(COCO_CLASSES[79].name, "Toothbrush");
    }

    #[test]
    fn every_name_is_unique_and_title_cased() {
        for (index, class) in COCO_CLASSES.iter().enumerate() {
            assert!(
                COCO_CLASSES[..index].iter().all(|c| c.name != class.name),
                "{} appears twice",
                class.name
            );
            for word in class.name.split(' ').chain(class.parents.iter().copied()) {
                assert!(
                    word.starts_with(|c: char| c.is_ascii_uppercase()),
                    "{word} in {} is not capitalised",
                    class.name
                );
            }
        }
    }

    #[test]
    fn no_class_is_its_own_parent() {
        for class in COCO_CLASSES {
            assert!(!class.parents.contains(&class.name), "{}", class.name);
        }
    }
}
