"""Files shipped with Resect (app icon, icons, style sheets, the demo model).

Found through ``importlib.resources`` so the same call works from the checkout, from an
installed wheel and from a PyInstaller bundle; nothing here assumes the checkout's layout.
Callers get a real ``pathlib.Path`` because Qt and h5py want file names: when the package is
not a plain directory (a zip import), the file is extracted once for the life of the process.
"""

from __future__ import annotations

import atexit
import contextlib
from importlib.resources import as_file, files
from pathlib import Path

from resect.core.errors import ResectError

DEMO_MODEL = "demo_model.keras"
APP_ICON = "resect"
# The desktop entry's name (packaging/linux/APP_ID.desktop): give it to
# QGuiApplication.setDesktopFileName so Wayland shells show the window with its entry and icon.
APP_ID = "io.github.resect.Resect"

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


class ResourceMissingError(ResectError):
    """A file that should ship with Resect is not there (a broken install or bundle)."""


def resource_path(name: str) -> Path:
    """Path of ``name`` (``"/"``-separated, relative to this package), e.g. ``"icons/cut.svg"``."""
    parts = [part for part in name.split("/") if part]
    if not parts or any(part == ".." for part in parts):
        raise ResourceMissingError(f"resource name {name!r} is not a file inside the resources package")
    ref = files(__name__).joinpath(*parts)
    if not ref.is_file():
        raise ResourceMissingError(f"resource {name!r} is missing from this Resect installation ({files(__name__)})")
    if isinstance(ref, Path):
        return ref
    return _extracted.enter_context(as_file(ref))


def demo_model_path() -> Path:
    """The small demo model the app opens when started without a model."""
    return resource_path(DEMO_MODEL)


def icon_path(name: str = APP_ICON) -> Path:
    """An icon by name: ``icon_path()`` is the app icon; ``icon_path("cut")`` looks for
    ``icons/cut.svg`` then ``cut.svg``. A name with a suffix (``"cut.png"``) is used as is."""
    file_name = name if Path(name).suffix else f"{name}.svg"
    for candidate in (f"icons/{file_name}", file_name):
        with contextlib.suppress(ResourceMissingError):
            return resource_path(candidate)
    raise ResourceMissingError(f"icon {name!r} is missing from this Resect installation ({files(__name__)})")
