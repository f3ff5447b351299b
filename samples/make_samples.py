#!/usr/bin/env python3
"""Builds the sample camera e-mails in this folder from public-domain photos.

The photos come from the data folder of the scikit-image wheel (see
README.md for each one's author and licence). Usage:

    pip download --no-deps scikit-image==0.26.0 -d /tmp/skimage
    unzip -q /tmp/skimage/scikit_image-*.whl 'skimage/data/*' -d /tmp/skimage
    python3 make_samples.py /tmp/skimage/skimage/data

Needs Pillow and NumPy. The output is deterministic (fixed dates, ids, MIME
boundaries, JPEG settings), so rebuilding gives the same files.
"""

import sys
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

from scenery import at_night, rain, shadow, tiled

HERE = Path(__file__).resolve().parent
BENCH_FIXTURE = HERE.parent / "crates/detector-nanodet/benches/fixtures/frontdoor_1080p.jpg"



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


def drive_at_night(data, size):
    """Three snapshots of an empty gravel drive at night, as an infrared
    camera sends them when rain starts and the shadow of a branch sways
    across the drive: motion, and nothing anyone needs to hear about."""
    gravel = at_night(tiled(Image.open(data / "gravel.png"), size), 7)
    return [gravel, rain(gravel, 8), shadow(rain(gravel, 9))]


def jpeg(picture, path):
    picture.save(path, "JPEG", quality=85, subsampling="4:2:0", optimize=False)


def camera_email(camera, picture_paths, taken, message_number):
    """A multipart e-mail as a typical IP camera sends it on motion: a
    short text, and its snapshots a second apart."""
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
    for second, picture_path in enumerate(picture_paths):
        attachment = MIMEImage(picture_path.read_bytes(), "jpeg")
        shot = taken + timedelta(seconds=second)
        attachment.add_header(
            "Content-Disposition", "attachment", filename=f"{camera}_{shot:%Y%m%d_%H%M%S}.jpg"
        )
        message.attach(attachment)
    return message.as_bytes()


def main():
    data = Path(sys.argv[1])
    camera_size = (1280, 720)
    scenes = [
        ("frontdoor_person", "frontdoor", front_door, datetime(2026, 11, 28, 17, 42, 7, tzinfo=timezone.utc)),
        ("garden_empty", "garden", garden, datetime(2026, 11, 28, 23, 5, 51, tzinfo=timezone.utc)),
        ("drive_quiet_night", "drive", drive_at_night, datetime(2026, 11, 29, 2, 14, 33, tzinfo=timezone.utc)),
    ]
    for number, (name, camera, scene, taken) in enumerate(scenes, start=1):
        pictures = scene(data, camera_size)
        if not isinstance(pictures, list):
            pictures = [pictures]
        paths = [HERE / f"{name}_{index}.jpg" for index in range(len(pictures))]
        for picture, path in zip(pictures, paths):
            jpeg(picture, path)
        (HERE / f"{name}.eml").write_bytes(camera_email(camera, paths, taken, number))
        for path in paths:
            path.unlink()
    BENCH_FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    jpeg(front_door(data, (1920, 1080)), BENCH_FIXTURE)


if __name__ == "__main__":
    main()
