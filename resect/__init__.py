"""Resect's one import name: ``resect.core``, ``resect.app``, ``resect.cli``, ``resect.resources``.

Why this shape: the repository keeps its top-level folders (``core/``, ``app/``, ``cli/``,
``resources/``), but an installed Resect must not put generic names like ``core`` or ``app``
into site-packages, where they shadow (or are shadowed by) other distributions' packages.
So this folder holds relative symlinks to them (``resect/core -> ../core``, ...): from a
checkout ``import resect.core`` goes through the link, and setuptools' package discovery
follows links (``os.walk(followlinks=True)``), so the wheel holds real copies under
``resect/`` and nothing else at the top. Every import in the code says ``resect.``; nothing
imports the bare folders, so no module is ever loaded twice under two names. A plain
symlink keeps every tool on its ordinary path (setuptools, import-linter, PyInstaller,
``importlib.resources``); a checkout needs a file system with symlinks (any POSIX one).
"""
