# The Frame type, shared with _parser.pyx, which builds frames without
# going through Python-level construction.

cdef class Frame:
    cdef unsigned char _opcode  # read as an Opcode through the property
    cdef bytes _payload  # read and set as bytes through the property
    cdef public bint fin
    cdef public bint rsv1
    cdef public bint rsv2
    cdef public bint rsv3
