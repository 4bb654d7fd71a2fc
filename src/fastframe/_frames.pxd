# The Frame type, shared with _parser.pyx, which builds frames without
# going through Python-level construction.

cdef class Frame:
    cdef unsigned char _opcode  # read as an Opcode through the property
    cdef public bytes payload
    cdef public bint fin
    cdef public bint rsv1
    cdef public bint rsv2
    cdef public bint rsv3
