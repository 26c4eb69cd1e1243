#!/usr/bin/env python3
"""List a TensorBoard event file's steps and tags, verifying every CRC.

Usage: tools/tfevents_read.py [--records] FILE_OR_DIR...
       tools/tfevents_read.py --payload N FILE   (record N's Event bytes to stdout,
                                                  e.g. for protoc --decode_raw)

Python standard library only. Reads the TFRecord framing (uint64 length, masked
CRC-32C of the length, payload, masked CRC-32C of the payload) and the few protobuf
fields of Event/Summary/Value that name what a record holds. Prints one summary line
per tag (kind, how many steps, first and last step); with --records, one line per
record. A directory means every events.out.tfevents.* file in it.

Exit status: 0 when every record is whole and every CRC matches; 1 naming the file,
the record number and its byte offset on the first bad CRC, truncated record or
unparsable payload; 2 for usage errors.
"""
import glob
import os
import struct
import sys


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), init and final xor 0xFFFFFFFF."""
    crc = 0xFFFFFFFF
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


class BadRecord(Exception):
    pass


def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise BadRecord("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise BadRecord("varint too long")


def fields(buf):
    """Yield (field, wire type, value) of one protobuf message; value is an int for
    varints, raw bytes for fixed and length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise BadRecord("unsupported wire type %d" % wire)
        if i > len(buf):
            raise BadRecord("field %d runs past the end" % field)
        yield field, wire, v


def describe(payload):
    """(step, wall_time, [(tag, kind, detail)]) of one Event."""
    step, wall, values = 0, 0.0, []
    for f, w, v in fields(payload):
        if f == 1 and w == 1:
            wall = struct.unpack("<d", v)[0]
        elif f == 2 and w == 0:
            step = v - (1 << 64) if v >= 1 << 63 else v
        elif f == 3 and w == 2:
            values.append(("", "file_version", v.decode("utf-8", "replace")))
        elif f == 5 and w == 2:
            for sf, sw, sv in fields(v):
                if sf != 1 or sw != 2:
                    continue
                tag, kind, detail = "", "?", ""
                for vf, vw, vv in fields(sv):
                    if vf == 1 and vw == 2:
                        tag = vv.decode("utf-8", "replace")
                    elif vf == 2:
                        kind = "scalar"
                    elif vf == 4 and vw == 2:
                        kind = "image"
                        d = {ff: x for ff, ww, x in fields(vv) if ww == 0}
                        detail = "%dx%d" % (d.get(2, 0), d.get(1, 0))
                    elif vf == 5 and vw == 2:
                        kind = "histogram"
                        d = {ff: x for ff, ww, x in fields(vv)}
                        num = struct.unpack("<d", d[3])[0] if 3 in d else 0.0
                        detail = "num=%g buckets=%d" % (num, len(d.get(7, b"")) // 8)
                    elif vf == 8 and vw == 2:
                        kind = "tensor" if kind == "?" else kind
                    elif vf == 9 and vw == 2:
                        for mf, mw, mv in fields(vv):
                            if mf == 1 and mw == 2:
                                for pf, pw, pv in fields(mv):
                                    if pf == 1 and pw == 2:
                                        kind = pv.decode("utf-8", "replace")
                values.append((tag, kind, detail))
    return step, wall, values


def read_records(path):
    """Yield (index, offset, payload); raise BadRecord naming the record."""
    with open(path, "rb") as f:
        data = f.read()
    off = k = 0
    while off < len(data):
        where = "%s: record %d at byte %d" % (path, k, off)
        if len(data) - off < 12:
            raise BadRecord("%s: truncated header (%d bytes)" % (where, len(data) - off))
        head = data[off:off + 8]
        (length,) = struct.unpack("<Q", head)
        (lcrc,) = struct.unpack("<I", data[off + 8:off + 12])
        if masked_crc(head) != lcrc:
            raise BadRecord("%s: bad length CRC" % where)
        end = off + 12 + length + 4
        if end > len(data):
            raise BadRecord("%s: truncated (length %d, %d bytes left)"
                            % (where, length, len(data) - off - 12))
        payload = data[off + 12:off + 12 + length]
        (pcrc,) = struct.unpack("<I", data[end - 4:end])
        if masked_crc(payload) != pcrc:
            raise BadRecord("%s: bad payload CRC" % where)
        yield k, off, payload
        off = end
        k += 1


def main(argv):
    args = argv[1:]
    if len(args) == 3 and args[0] == "--payload" and args[1].isdigit():
        want = int(args[1])
        try:
            for k, off, payload in read_records(args[2]):
                if k == want:
                    sys.stdout.buffer.write(payload)
                    return 0
        except OSError as e:
            print("tfevents_read: %s: %s" % (args[2], e.strerror), file=sys.stderr)
            return 1
        except BadRecord as e:
            print("tfevents_read: %s" % e, file=sys.stderr)
            return 1
        print("tfevents_read: %s: no record %d" % (args[2], want), file=sys.stderr)
        return 1
    show = "--records" in args
    args = [a for a in args if a != "--records"]
    if not args or any(a.startswith("-") for a in args):
        print("\n".join(__doc__.strip().splitlines()[2:5]), file=sys.stderr)
        return 2
    files = []
    for a in args:
        if os.path.isdir(a):
            found = sorted(glob.glob(os.path.join(a, "events.out.tfevents.*")))
            if not found:
                print("tfevents_read: %s: no events.out.tfevents.* file" % a, file=sys.stderr)
                return 1
            files += found
        else:
            files.append(a)
    for path in files:
        tags = {}
        n = 0
        try:
            for k, off, payload in read_records(path):
                try:
                    step, wall, values = describe(payload)
                except (BadRecord, IndexError, struct.error, KeyError) as e:
                    raise BadRecord("%s: record %d at byte %d: bad Event: %s"
                                    % (path, k, off, e))
                n += 1
                for tag, kind, detail in values:
                    if show:
                        print("record %d step %d %s %s %s" % (k, step, kind, tag or "-", detail))
                    if kind == "file_version":
                        continue
                    t = tags.setdefault((tag, kind), [0, step, step])
                    t[0] += 1
                    t[1] = min(t[1], step)
                    t[2] = max(t[2], step)
        except OSError as e:
            print("tfevents_read: %s: %s" % (path, e.strerror), file=sys.stderr)
            return 1
        except BadRecord as e:
            print("tfevents_read: %s" % e, file=sys.stderr)
            return 1
        print("%s: %d records, every CRC good" % (path, n))
        for (tag, kind), (count, lo, hi) in sorted(tags.items()):
            print("  %-16s %-10s %5d steps  %d..%d" % (tag, kind, count, lo, hi))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
