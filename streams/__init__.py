"""Sources: the topic catalogue, Kafka client settings, producer SDK and the simulator."""
