"""Which image files the app decodes, checked from the header before any pixel is read.

Kept free of TensorFlow so that ``predict --runtime onnx`` can refuse a bad file quickly.
"""

import io
import warnings

# Pillow's names for the formats tf.io.decode_image reads (MPO: multi-picture JPEG from cameras)
IMAGE_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP")
# Decoding allocates width x height x 3 bytes before the resize: a 64-megapixel photo (about
# 200 MB) still passes; a mistaken or crafted file that claims 100,000 x 100,000 does not.
MAX_IMAGE_PIXELS = 64_000_000


def check_image(data):
    """Raise ValueError saying why ``data`` (a file's bytes) is not an image we decode.

    Pillow reads only the header and checks the structure, so a wrong format or a huge
    image is refused before TensorFlow allocates anything; corrupt pixel data is caught
    later, by the decoder itself.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValueError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format, (width, height) = image.format, image.size
                image.verify()
    except Image.DecompressionBombError:
        raise ValueError(f"image has more than {MAX_IMAGE_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"not a readable image ({error})") from None
    if image_format not in IMAGE_FORMATS:  # the serving graph decodes only these
        raise ValueError(f"{image_format} images are not supported (use {', '.join(IMAGE_FORMATS[::2])})")
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"image is {width:,} x {height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} decoded")
