#!/usr/bin/env python3
"""Builds the scenes the embedded model's gate is measured on.

Camera snapshots of people, and of nothing a camera alerts on, composed
from the public photos that ship inside two PyPI wheels (their authors and
licences are listed in docs/detector-gate.md):

    pip download --no-deps scikit-image==0.26.0 matplotlib==3.11.2 -d DATA
    unzip -q DATA/scikit_image-*.whl 'skimage/data/*' -d DATA
    unzip -q DATA/matplotlib-*.whl 'matplotlib/mpl-data/sample_data/*' -d DATA
    python3 bench/gate_scenes.py DATA OUT

`make gate-recall` does all of this. OUT receives one JPEG per scene and
`scenes.json`, which says for each whether a person is in it and of what
kind the scene is. Needs Pillow and NumPy. The output is deterministic.

The people are photographs pasted into camera-sized frames, not people
filmed by a camera: a near visitor fills the frame's height, a far one a
ninth of it; a hidden one has half of them behind a wall; a night one is
grey, dark, low in contrast and noisy, as an infrared camera sees.
"""

import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))
from scenery import at_night, filling, headlights, rain, shadow, tiled  # noqa: E402

FRAME = (1920, 1080)
SMALL_FRAME = (1280, 720)




def with_person(background, person, height_share, centre_x, hide=None):
    """`person` scaled to `height_share` of the frame's height, standing on
    the bottom edge at `centre_x` (share of the width); `hide` = "side" or
    "low" puts part of them behind a wall of the background: a third from
    the left, or the lower half."""
    frame = background.copy()
    height = int(frame.height * height_share)
    width = int(person.width * height / person.height)
    person = person.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    left = int(frame.width * centre_x - width / 2)
    left = max(0, min(frame.width - width, left))
    top = frame.height - height
    frame.paste(person, (left, top))
    if hide == "side":
        wall = background.crop((left, top, left + width * 7 // 20, frame.height))
        frame.paste(wall, (left, top))
    elif hide == "low":
        wall = background.crop((left, top + height // 2, left + width, frame.height))
        frame.paste(wall, (left, top + height // 2))
    return frame






def scenes(skimage, matplotlib):
    """(name, kind, person, picture) for every scene."""
    people = {
        "astronaut": Image.open(skimage / "astronaut.png"),
        "cameraman": Image.open(skimage / "camera.png"),
        "hopper": Image.open(matplotlib / "grace_hopper.jpg"),
    }
    grounds = {
        "brick": tiled(Image.open(skimage / "brick.png"), FRAME),
        "grass": filling(Image.open(skimage / "grass.png"), FRAME),
        "gravel": tiled(Image.open(skimage / "gravel.png"), FRAME),
    }
    ground_names = list(grounds)
    for index, (who, person) in enumerate(people.items()):
        ground = grounds[ground_names[index % len(ground_names)]]
        other = grounds[ground_names[(index + 1) % len(ground_names)]]
        night_ground = at_night(other, index)
        yield f"{who}_near", "near", True, with_person(ground, person, 1.0, 0.5)
        yield f"{who}_mid", "middle distance", True, with_person(ground, person, 0.5, 0.3)
        yield f"{who}_far", "far", True, with_person(other, person, 0.22, 0.7)
        yield f"{who}_very_far", "far", True, with_person(other, person, 0.11, 0.4)
        yield f"{who}_behind_a_pillar", "partly hidden", True, with_person(ground, person, 0.5, 0.6, hide="side")
        yield f"{who}_behind_a_hedge", "partly hidden", True, with_person(other, person, 0.6, 0.45, hide="low")
        yield f"{who}_night_near", "night (infrared)", True, at_night(with_person(other, person, 0.9, 0.5), 10 + index)
        yield f"{who}_night_mid", "night (infrared)", True, at_night(with_person(ground, person, 0.45, 0.65), 20 + index)
        yield f"{who}_night_far", "night (infrared)", True, at_night(with_person(other, person, 0.22, 0.3), 30 + index)
        small = with_person(tiled(Image.open(skimage / "brick.png"), SMALL_FRAME), person, 0.7, 0.5)
        yield f"{who}_720p_near", "near", True, small
        del night_ground
    for name, ground in grounds.items():
        yield f"{name}_day", "empty", False, ground
        yield f"{name}_night", "empty", False, at_night(ground, 40 + len(name))
    yield "grass_rain_night", "rain", False, rain(at_night(grounds["grass"], 50), 51)
    yield "gravel_rain_night", "rain", False, rain(at_night(grounds["gravel"], 52), 53)
    yield "gravel_headlights_night", "headlights", False, headlights(at_night(grounds["gravel"], 54))
    yield "brick_headlights_night", "headlights", False, headlights(at_night(grounds["brick"], 55))
    yield "brick_branch_shadow", "shadow", False, shadow(grounds["brick"])
    yield "grass_branch_shadow", "shadow", False, shadow(grounds["grass"])
    yield "coffee_on_the_table", "object", False, filling(Image.open(skimage / "coffee.png"), FRAME)
    yield "rocket_launch", "object", False, filling(Image.open(skimage / "rocket.jpg"), FRAME)
    yield "cat_close_up", "animal", False, filling(Image.open(skimage / "chelsea.png"), FRAME)
    yield "motorcycle_in_a_shed", "vehicle, not a car", False, filling(Image.open(skimage / "motorcycle_left.png"), FRAME)


def main():
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    listing = []
    for name, kind, person, picture in scenes(data / "skimage/data", data / "matplotlib/mpl-data/sample_data"):
        file = f"{name}.jpg"
        picture.save(out / file, "JPEG", quality=85, subsampling="4:2:0")
        listing.append({"file": file, "kind": kind, "person": person})
    (out / "scenes.json").write_text(json.dumps(listing, indent=1) + "\n")
    people = sum(scene["person"] for scene in listing)
    print(f"{len(listing)} scenes in {out}: {people} with a person, {len(listing) - people} without")


if __name__ == "__main__":
    main()
