/* Level 2 banded and packed entries (cdef-able: plain declarations only; see _generic.py). */
