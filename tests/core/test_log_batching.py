"""BatchedJsonSink: access lines are written in batches, in order, and never lost at stop."""

from __future__ import annotations

import io
import json
import time

from loguru import logger

from app.core.logging import BatchedJsonSink, configure_logging, flush_logs


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _messages(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["message"] for line in stream.getvalue().splitlines()]


def _add(sink: BatchedJsonSink) -> int:
    return logger.add(sink, level="DEBUG", format="{message}")


def test_info_lines_wait_for_the_interval_and_go_out_in_one_write() -> None:
    stream = CountingStream()
    sink_id = _add(BatchedJsonSink(stream, interval=0.2))
    try:
        for n in range(50):
            logger.info("line {}", n)
        assert stream.getvalue() == ""  # nothing yet: a write per line is what this avoids
        deadline = time.monotonic() + 5
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _messages(stream) == [f"line {n}" for n in range(50)]
        assert stream.writes == 1
    finally:
        logger.remove(sink_id)


def test_a_warning_is_written_at_once_with_everything_before_it() -> None:
    stream = io.StringIO()
    sink_id = _add(BatchedJsonSink(stream, interval=60))
    try:
        logger.info("before")
        logger.warning("trouble")
        assert _messages(stream) == ["before", "trouble"]
    finally:
        logger.remove(sink_id)


def test_a_full_buffer_is_written_without_waiting() -> None:
    stream = io.StringIO()
    sink_id = _add(BatchedJsonSink(stream, interval=60, max_bytes=2_000))
    try:
        for n in range(40):
            logger.info("x" * 50 + str(n))
        written = _messages(stream)
        assert 0 < len(written) < 40
        assert written == ["x" * 50 + str(n) for n in range(len(written))]
    finally:
        logger.remove(sink_id)


def test_removing_the_sink_writes_what_is_left() -> None:
    stream = io.StringIO()
    sink_id = _add(BatchedJsonSink(stream, interval=60))
    logger.info("last words")
    logger.remove(sink_id)  # what loguru also does at exit
    assert _messages(stream) == ["last words"]


def test_the_service_batches_its_json_logs_and_flushes_them_at_shutdown() -> None:
    stream = io.StringIO()
    try:
        configure_logging(level="INFO", json=True, stream=stream, batched=True)
        logger.info("pending")
        assert stream.getvalue() == ""
        flush_logs()
        assert _messages(stream) == ["pending"]
    finally:
        configure_logging(level="INFO", json=True)


class FlakyStream(io.StringIO):
    """Fails its first write, as a full pipe (EAGAIN) would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def write(self, text: str) -> int:
        if self.failures:
            self.failures -= 1
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return super().write(text)


def test_a_failed_write_loses_nothing_and_the_writer_keeps_going() -> None:
    stream = FlakyStream()
    sink_id = _add(BatchedJsonSink(stream, interval=0.05))
    try:
        logger.info("one")
        time.sleep(0.2)  # the first periodic write fails; the line is kept for the next one
        logger.info("two")
        deadline = time.monotonic() + 5
        while len(_messages(stream)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _messages(stream) == ["one", "two"]
    finally:
        logger.remove(sink_id)
