/* Level 3 entries (cdef-able: plain declarations only; see _generic.py for the signature rule). */
