//! Being written: DNS / list / HTTP probes.
