"""Avro contracts of every source topic and the codec that frames them."""
