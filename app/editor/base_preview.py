"""The unedited state's preview, computed on a worker after the first paint.

``Document.preview`` of an edited state is fast (only what changed), but the unedited
state's (every layer: 1.2 s at 20,000 layers) would hold the UI thread right when the
model appears; it is computed off it, and ``None`` until it arrives."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from resect.core.surgery.document import Document
from resect.core.surgery.preview import Preview

log = logging.getLogger(__name__)


class BasePreview:
    """``of(doc)``: the preview to show for ``doc``; ``start(doc)`` computes the base one."""

    def __init__(self, runner: Any, on_ready: Callable[[Document, Preview], None]) -> None:
        self.runner = runner
        self.on_ready = on_ready
        self.result: tuple[Document, Preview] | None = None
        self.waiting: Document | None = None  # opened; computed once the graph is on screen
        self._job = 0

    def reset(self, waiting: Document | None = None) -> None:
        self.result, self.waiting = None, waiting
        self._job += 1

    def of(self, doc: Document) -> Preview | None:
        if doc.edits:
            return doc.preview
        if self.result is not None and self.result[0] is doc:
            return self.result[1]
        return None

    def first_paint(self, current: Document | None) -> None:
        doc, self.waiting = self.waiting, None
        if doc is not None and doc is current:
            self.start(doc)

    def start(self, doc: Document) -> None:
        from resect.core.surgery.preview import preview

        self._job += 1
        job = self._job

        def done(result: Preview) -> None:
            if job == self._job:
                self.result = (doc, result)
                self.on_ready(doc, result)

        def failed(error: BaseException) -> None:
            log.error("preview failed: %s", error)

        self.runner.submit(preview, doc.original, doc.original, on_done=done, on_error=failed, name="preview")
