"""The offline photos' manifest: every photo, its package, file, loader, licence and role.

Pure data (no import of the package); `keras_styletransfer.data.offline_photos` explains the
roles and reads the photos.
"""

_SKIMAGE_LICENCES = "skimage/data/_fetchers.py"  # each loader's docstring states its licence
_SKLEARN_LICENCES = "sklearn/datasets/images/README.txt"
_SKIMAGE_DOCS = "https://scikit-image.org/docs/stable/api/skimage.data.html"


def _skimage(name, file, role, description, licence, url, loader=None):
    return {
        "name": name,
        "role": role,
        "package": "scikit-image",
        "loader": f"skimage.data.{loader or name}()",
        "file": f"skimage/data/{file}",
        "description": description,
        "licence": licence,
        "licence_source": _SKIMAGE_LICENCES,
        "url": url,
    }


def _sklearn(name, role, description, licence, url):
    return {
        "name": name,
        "role": role,
        "package": "scikit-learn",
        "loader": f"sklearn.datasets.load_sample_image('{name}.jpg')",
        "file": f"sklearn/datasets/images/{name}.jpg",
        "description": description,
        "licence": licence,
        "licence_source": _SKLEARN_LICENCES,
        "url": url,
    }


# The photos, in source-id order (a source id is an index into this list).
MANIFEST = [
    _skimage(
        "astronaut",
        "astronaut.png",
        "content",
        "Astronaut Eileen Collins in her flight suit (NASA), 512x512.",
        "Public domain: no known copyright restrictions (NASA Great Images).",
        "https://flic.kr/p/r9qvLn",
    ),
    _skimage(
        "coffee",
        "coffee.png",
        "content",
        "A cup of coffee on a wooden table, 600x400.",
        "CC0 1.0, by the photographer Rachel Michetti (for Pikolo Espresso Bar).",
        f"{_SKIMAGE_DOCS}#skimage.data.coffee",
    ),
    _sklearn(
        "china",
        "content",
        "A many-roofed tower of the Summer Palace, Beijing, above trees and a lake, 640x427.",
        "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/): 'Some rights reserved by "
        "danielbuechele', as scikit-learn's README attributes it.",
        "https://www.flickr.com/photos/danielbuechele/6061409035/",
    ),
    _skimage(
        "rocket",
        "rocket.jpg",
        "style",
        "Launch of DSCOVR on a Falcon 9 at dusk (SpaceX), 640x427.",
        "Public domain: released by SpaceX.",
        "https://www.flickr.com/photos/spacexphotos/16511594820/",
    ),
    _skimage(
        "hubble_deep_field",
        "hubble_deep_field.jpg",
        "style",
        "Hubble eXtreme Deep Field: galaxies on a dark sky (NASA), 1000x872.",
        "Public domain: NASA imagery may be freely used.",
        "http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/",
    ),
    _skimage(
        "immunohistochemistry",
        "ihc.png",
        "style",
        "Stained colonic glands under a microscope (CMMI), 512x512.",
        "No known copyright restrictions (Center for Microscopy and Molecular Imaging).",
        f"{_SKIMAGE_DOCS}#skimage.data.immunohistochemistry",
    ),
    _skimage(
        "chelsea",
        "chelsea.png",
        "test",
        "Chelsea the cat, close up, 451x300.",
        "CC0 1.0, by the photographer Stefan van der Walt.",
        f"{_SKIMAGE_DOCS}#skimage.data.chelsea",
    ),
    {
        "name": "grace_hopper",
        "role": "test",
        "package": "matplotlib",
        "loader": "matplotlib.cbook.get_sample_data('grace_hopper.jpg')",
        "file": "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        "description": "Grace Hopper in US Navy uniform, official portrait, 512x600.",
        "licence": "Public domain: a US Navy photograph (work of the US federal government).",
        "licence_source": None,  # matplotlib ships no licence text for its sample photo
        "url": "https://matplotlib.org/stable/api/cbook_api.html#matplotlib.cbook.get_sample_data",
    },
    _sklearn(
        "flower",
        "test",
        "An orange pompon dahlia before dark green leaves, close up, 640x427.",
        "CC BY 2.0 (https://creativecommons.org/licenses/by/2.0/): 'Some rights reserved by "
        "danielbuechele', as scikit-learn's README attributes it (the photo's page is "
        "vultilion's).",
        "https://www.flickr.com/photos/vultilion/6056698931/",
    ),
    _skimage(
        "retina",
        "retina.jpg",
        "test",
        "Fundus photograph of a human retina (Mikael Häggström), 1411x1411.",
        "CC0 1.0 Universal Public Domain Dedication (Wikimedia Commons).",
        "https://commons.wikimedia.org/wiki/File:Fundus_photograph_of_normal_left_eye.jpg",
    ),
]
PHOTO_NAMES = tuple(entry["name"] for entry in MANIFEST)
PHOTO_ROLES = {
    role: tuple(entry["name"] for entry in MANIFEST if entry["role"] == role)
    for role in ("content", "style", "test")
}
PHOTO_ROLES["train"] = PHOTO_ROLES["content"] + PHOTO_ROLES["style"]
