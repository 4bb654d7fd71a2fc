# The Frame type, shared with _parser.pyx, which builds frames without
# going through Python-level construction.

cdef class Frame:
    cdef public object opcode
    cdef public object payload
    cdef public bint fin
    cdef public bint rsv1
    cdef public bint rsv2
    cdef public bint rsv3
