"""consume_until_quiet (streams/kafka.py) on the real broker: every record of an assigned partition, and an end at
``max_s`` even while records keep coming (the reads that could wait for ever for a worker that had died)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from battrace.stack.broker import EmbeddedBroker
from streams.kafka import client_config, consume_until_quiet, ensure_topics
from streams.producer import EventProducer
from streams.topics import REJECTS


def test_every_record_is_read_and_a_topic_that_never_goes_quiet_is_read_for_max_s(tmp_path: Path) -> None:
    with EmbeddedBroker(tmp_path / "broker") as broker:
        ensure_topics(broker.bootstrap, 1)
        with EventProducer(broker.bootstrap) as producer:
            for i in range(25):
                producer.send_raw(REJECTS.name, f"k{i}".encode(), b"v")
        consumer = Consumer(client_config(broker.bootstrap, **{"group.id": "quiet", "enable.auto.commit": False}))
        stop = threading.Event()

        def keep_producing() -> None:
            with EventProducer(broker.bootstrap) as busy:
                while not stop.is_set():
                    busy.send_raw(REJECTS.name, b"more", b"v")
                    busy.flush()
                    time.sleep(0.05)

        try:
            consumer.assign([TopicPartition(REJECTS.name, 0, OFFSET_BEGINNING)])
            keys = [m.key() for m in consume_until_quiet(consumer, quiet_s=1.0)]
            assert keys == [f"k{i}".encode() for i in range(25)]

            producing = threading.Thread(target=keep_producing)
            producing.start()
            time.sleep(1)  # the producer is sending
            started = time.monotonic()
            more = list(consume_until_quiet(consumer, quiet_s=1.5, max_s=4))
            elapsed = time.monotonic() - started
            assert len(more) > 20 and 3.5 < elapsed < 8  # never quiet for 1.5 s: ended by max_s
        finally:
            stop.set()
            consumer.close()
