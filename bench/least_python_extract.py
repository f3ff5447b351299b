"""The least a Python extractor does with a camera e-mail: parse it with the
standard `email` package, walk every part, decode each picture part and
hash it. The baseline `ipcam extract` is measured against. It sniffs,
deduplicates and checks nothing, which favours Python on the pictures both
decode; past its frame cap `ipcam` decodes no more, which favours `ipcam`
on a burst longer than the cap."""

import email
import hashlib
import sys


def main(path):
    with open(path, "rb") as message_file:
        message = email.message_from_binary_file(message_file)
    digests = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload and part.get_content_maintype() == "image":
            digests.append(hashlib.sha256(payload).hexdigest())
    print(len(digests))


if __name__ == "__main__":
    main(sys.argv[1])
