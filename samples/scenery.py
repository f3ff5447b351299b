"""Camera scenery made from photos: textures tiled to a frame, a photo
filling one, and what cameras see at night (infrared grey, rain,
headlights, a branch's shadow). Shared by make_samples.py and
bench/gate_scenes.py. Needs Pillow and NumPy.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

def tiled(texture, size):
    """The texture repeated over a picture of `size`, in RGB."""
    texture = texture.convert("RGB")
    canvas = Image.new("RGB", size)
    for x in range(0, size[0], texture.width):
        for y in range(0, size[1], texture.height):
            canvas.paste(texture, (x, y))
    return canvas


def at_night(picture, seed):
    """As an infrared camera sees at night: grey, dark, flat and noisy."""
    grey = np.asarray(picture.convert("L"), dtype=np.float32)
    grey = 20 + grey * 0.35
    noise = np.random.default_rng(seed).normal(0.0, 9.0, grey.shape)
    grey = np.clip(grey + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(grey).filter(ImageFilter.GaussianBlur(1.2)).convert("RGB")


def rain(picture, seed):
    """Streaks of rain lit by the camera's infrared light."""
    picture = picture.copy()
    draw = ImageDraw.Draw(picture)
    rng = np.random.default_rng(seed)
    for _ in range(900):
        x, y = rng.integers(0, picture.width), rng.integers(0, picture.height)
        length = rng.integers(20, 70)
        draw.line((x, y, x + length // 6, y + length), fill=(200, 200, 200), width=2)
    return picture


def headlights(picture):
    """Two headlights sweeping over the scene: glare and a bright band."""
    picture = picture.copy()
    glare = Image.new("L", picture.size, 0)
    draw = ImageDraw.Draw(glare)
    w, h = picture.size
    draw.ellipse((int(w * 0.55), int(h * 0.35), int(w * 0.75), int(h * 0.6)), fill=255)
    draw.ellipse((int(w * 0.78), int(h * 0.38), int(w * 0.93), int(h * 0.58)), fill=255)
    draw.rectangle((0, int(h * 0.6), w, int(h * 0.75)), fill=140)
    glare = glare.filter(ImageFilter.GaussianBlur(60))
    white = Image.new("RGB", picture.size, (255, 255, 240))
    return Image.composite(white, picture, glare)


def shadow(picture):
    """The shadow of a tree branch moving over the wall."""
    picture = picture.copy()
    mask = Image.new("L", picture.size, 0)
    draw = ImageDraw.Draw(mask)
    w, h = picture.size
    draw.polygon([(0, 0), (w * 0.5, 0), (w * 0.8, h * 0.7), (w * 0.6, h), (w * 0.1, h * 0.5)], fill=150)
    mask = mask.filter(ImageFilter.GaussianBlur(25))
    dark = Image.new("RGB", picture.size, (0, 0, 0))
    return Image.composite(dark, picture, mask)


def filling(photo, size):
    """A photo scaled to cover the frame and cropped to it."""
    photo = photo.convert("RGB")
    scale = max(size[0] / photo.width, size[1] / photo.height)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BICUBIC)
    left, top = (photo.width - size[0]) // 2, (photo.height - size[1]) // 2
    return photo.crop((left, top, left + size[0], top + size[1]))

