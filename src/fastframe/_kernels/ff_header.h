/* WebSocket frame header parsing and building (RFC 6455 §5.2).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-------+-+-------------+-------------------------------+
 * |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 * |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 * |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 * | |1|2|3|       |K|             |                               |
 * +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 * |     Extended payload length continued, if payload len == 127  |
 * + - - - - - - - - - - - - - - - +-------------------------------+
 * |                               |Masking-key, if MASK set to 1  |
 * +-------------------------------+-------------------------------+
 */
#ifndef FF_HEADER_H
#define FF_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define FF_MAX_HEADER 14

typedef struct {
    uint8_t fin, rsv1, rsv2, rsv3, opcode, masked;
    uint8_t mask[4];
    uint64_t length;
    size_t size; /* header length in bytes: 2 to 14 */
} ff_header;

enum { FF_HEADER_NEED_MORE = 0, FF_HEADER_OK = 1, FF_HEADER_BAD_LENGTH = -1 };

/* Parse the header at p[0..n).  Returns FF_HEADER_OK and fills *h,
 * FF_HEADER_NEED_MORE if n is too short, or FF_HEADER_BAD_LENGTH when the
 * 64-bit length has its most significant bit set (§5.2: "the most
 * significant bit MUST be 0").  Reads no byte at or past p[n]. */
static inline int ff_parse_header(const uint8_t *p, size_t n, ff_header *h)
{
    if (n < 2)
        return FF_HEADER_NEED_MORE;
    uint8_t b0 = p[0], b1 = p[1];
    size_t size = 2;
    uint64_t length = b1 & 0x7F;
    if (length == 126) {
        if (n < 4)
            return FF_HEADER_NEED_MORE;
        length = ((uint64_t)p[2] << 8) | p[3];
        size = 4;
    } else if (length == 127) {
        if (n < 10)
            return FF_HEADER_NEED_MORE;
        length = 0;
        for (int i = 2; i < 10; i++)
            length = (length << 8) | p[i];
        if (length >> 63)
            return FF_HEADER_BAD_LENGTH;
        size = 10;
    }
    h->masked = b1 >> 7;
    if (h->masked) {
        if (n < size + 4)
            return FF_HEADER_NEED_MORE;
        h->mask[0] = p[size];
        h->mask[1] = p[size + 1];
        h->mask[2] = p[size + 2];
        h->mask[3] = p[size + 3];
        size += 4;
    }
    h->fin = b0 >> 7;
    h->rsv1 = (b0 >> 6) & 1;
    h->rsv2 = (b0 >> 5) & 1;
    h->rsv3 = (b0 >> 4) & 1;
    h->opcode = b0 & 0x0F;
    h->length = length;
    h->size = size;
    return FF_HEADER_OK;
}

/* Write a header with the minimal length encoding (§5.2) into out, which
 * has room for FF_MAX_HEADER bytes; mask is NULL for an unmasked frame.
 * `first` is the first byte: FIN, RSV1-3 and the opcode.  Returns its size. */
static inline size_t ff_build_header(uint8_t *out, uint8_t first, uint64_t length, const uint8_t *mask)
{
    size_t size;
    uint8_t mask_bit = mask ? 0x80 : 0;
    out[0] = first;
    if (length < 126) {
        out[1] = mask_bit | (uint8_t)length;
        size = 2;
    } else if (length < 65536) {
        out[1] = mask_bit | 126;
        out[2] = (uint8_t)(length >> 8);
        out[3] = (uint8_t)length;
        size = 4;
    } else {
        out[1] = mask_bit | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
        size = 10;
    }
    if (mask) {
        out[size] = mask[0];
        out[size + 1] = mask[1];
        out[size + 2] = mask[2];
        out[size + 3] = mask[3];
        size += 4;
    }
    return size;
}

/* May `code` appear in a close frame on the wire?  RFC 6455 §7.4.1-7.4.2:
 * 1000-1003 and 1007-1014 are defined (1012-1014 by the IANA registry),
 * 3000-4999 are for libraries and applications; 1004 is reserved, 1005,
 * 1006 and 1015 are never sent, 1016-2999 are reserved. */
static inline int ff_close_code_valid(unsigned int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

#endif /* FF_HEADER_H */
