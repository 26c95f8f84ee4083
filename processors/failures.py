"""How the worker fails: by ending the process, never by carrying on past a batch it could not finish.

faust's take_events acks a batch even when the agent's body raises, and faust restarts a failed agent or task
in the same process: carrying on could commit the offsets of a batch that was never stored. Ending the process
leaves them uncommitted, and the batch is redelivered to the next worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable

log = logging.getLogger(__name__)
EXIT_PROCESSING_FAILED = 70  # EX_SOFTWARE: a bug; the batch stays uncommitted and is redelivered
EXIT_SINK_DOWN = 75  # EX_TEMPFAIL: restart the worker when ClickHouse is back


async def run_or_exit(stage: Awaitable[None], what: str) -> None:
    """A stage (or a seal batch's writer) until done; any failure ends the process with the batch uncommitted."""
    try:
        await stage
    except asyncio.CancelledError:
        raise
    except Exception:
        log.critical("%s failed: exiting without committing", what, exc_info=True)
        os._exit(EXIT_PROCESSING_FAILED)
