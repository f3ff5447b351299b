#!/usr/bin/env python3
"""Builds the sample camera e-mails in this folder from public-domain photos.

The photos come from the data folder of the scikit-image wheel (see
README.md for each one's author and licence). Usage:

    pip download --no-deps scikit-image==0.26.0 -d /tmp/skimage
    unzip -q /tmp/skimage/scikit_image-*.whl 'skimage/data/*' -d /tmp/skimage
    python3 make_samples.py /tmp/skimage/skimage/data

Needs Pillow. The output is deterministic (fixed dates, ids, MIME
boundaries, JPEG settings), so rebuilding gives the same files.
"""

import sys
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
BENCH_FIXTURE = HERE.parent / "crates/detector-nanodet/benches/fixtures/frontdoor_1080p.jpg"


def tiled(texture, size):
    """The texture repeated over a picture of `size`, in RGB."""
    canvas = Image.new("RGB", size)
    for x in range(0, size[0], texture.width):
        for y in range(0, size[1], texture.height):
            canvas.paste(texture.convert("RGB"), (x, y))
    return canvas


def front_door(data, size):
    """A visitor standing in front of a brick wall: the astronaut portrait
    filling the frame's height, centred, brick on either side."""
    frame = tiled(Image.open(data / "brick.png"), size)
    portrait = Image.open(data / "astronaut.png").convert("RGB")
    portrait = portrait.resize((size[1], size[1]), Image.Resampling.LANCZOS)
    frame.paste(portrait, ((size[0] - size[1]) // 2, 0))
    return frame


def garden(data, size):
    """An empty lawn at night, as an infrared camera sees it: the grass
    texture enlarged to fill the frame, in grey."""
    grass = Image.open(data / "grass.png").convert("RGB")
    crop = grass.crop((0, 0, 512, 512 * size[1] // size[0]))
    return crop.resize(size, Image.Resampling.BICUBIC)


def jpeg(picture, path):
    picture.save(path, "JPEG", quality=85, subsampling="4:2:0", optimize=False)


def camera_email(camera, picture_path, taken, message_number):
    """A multipart e-mail as a typical IP camera sends it on motion."""
    message = MIMEMultipart(boundary=f"----=_Part_{message_number}_camera")
    message["From"] = f"{camera}@cams.example.com"
    message["To"] = "alerts@home.example.com"
    message["Subject"] = f"Motion detected on {camera}"
    message["Date"] = format_datetime(taken)
    message["Message-ID"] = f"<{taken:%Y%m%d%H%M%S}.{camera}@cams.example.com>"
    message.attach(
        MIMEText(
            f"Alarm event: motion detection\nCamera: {camera}\n"
            f"Time: {taken:%Y-%m-%d %H:%M:%S}\n",
            "plain",
        )
    )
    attachment = MIMEImage(picture_path.read_bytes(), "jpeg")
    attachment.add_header(
        "Content-Disposition", "attachment", filename=f"{camera}_{taken:%Y%m%d_%H%M%S}.jpg"
    )
    message.attach(attachment)
    return message.as_bytes()


def main():
    data = Path(sys.argv[1])
    camera_size = (1280, 720)
    scenes = [
        ("frontdoor_person", "frontdoor", front_door, datetime(2026, 11, 28, 17, 42, 7, tzinfo=timezone.utc)),
        ("garden_empty", "garden", garden, datetime(2026, 11, 28, 23, 5, 51, tzinfo=timezone.utc)),
    ]
    for number, (name, camera, scene, taken) in enumerate(scenes, start=1):
        picture_path = HERE / f"{name}.jpg"
        jpeg(scene(data, camera_size), picture_path)
        (HERE / f"{name}.eml").write_bytes(camera_email(camera, picture_path, taken, number))
        picture_path.unlink()
    BENCH_FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    jpeg(front_door(data, (1920, 1080)), BENCH_FIXTURE)


if __name__ == "__main__":
    main()
