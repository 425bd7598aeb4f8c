// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title CBOREncoder: a small CBOR (RFC 8949) writer for oracle request parameters.
/// @notice Writes into a growable in-memory buffer. Integers use the shortest head; integers
///         outside the 64-bit range become tagged bignums (tag 2 / tag 3) whose byte-string
///         payload is the 32-byte big-endian word — the same bytes existing client libraries
///         produce, so nodes and job specs see identical request data.
library CBOREncoder {
    uint8 internal constant MAJOR_TYPE_INT = 0;
    uint8 internal constant MAJOR_TYPE_NEGATIVE_INT = 1;
    uint8 internal constant MAJOR_TYPE_BYTES = 2;
    uint8 internal constant MAJOR_TYPE_STRING = 3;
    uint8 internal constant MAJOR_TYPE_ARRAY = 4;
    uint8 internal constant MAJOR_TYPE_MAP = 5;
    uint8 internal constant MAJOR_TYPE_TAG = 6;
    uint8 internal constant MAJOR_TYPE_SIMPLE = 7;

    uint8 internal constant TAG_POSITIVE_BIGNUM = 2;
    uint8 internal constant TAG_NEGATIVE_BIGNUM = 3;

    /// @dev Additional-information value marking an indefinite-length array or map.
    uint8 internal constant INDEFINITE_LENGTH = 31;
    /// @dev The "break" stop code closing an indefinite-length item.
    uint8 internal constant BREAK = 0xFF;

    /// @dev `buf` holds the encoded bytes (its length is the used size); `capacity` is the
    ///      number of bytes reserved after the length word.
    struct Buffer {
        bytes buf;
        uint256 capacity;
    }

    /// @notice Creates an empty buffer with room for at least `capacity` bytes.
    function create(uint256 capacity) internal pure returns (Buffer memory b) {
        _allocate(b, capacity);
    }

    /// @notice Appends one byte.
    function appendUint8(Buffer memory b, uint8 value) internal pure {
        uint256 length = b.buf.length;
        _reserve(b, length + 1);
        bytes memory buf = b.buf;
        assembly ("memory-safe") {
            mstore8(add(add(buf, 32), length), value)
            mstore(buf, add(length, 1))
        }
    }

    /// @notice Appends the low `size` bytes of `value`, big-endian (`size` <= 32).
    function appendUint(Buffer memory b, uint256 value, uint256 size) internal pure {
        uint256 length = b.buf.length;
        _reserve(b, length + size);
        bytes memory buf = b.buf;
        assembly ("memory-safe") {
            let dest := add(add(buf, 32), length)
            let shift := mul(sub(32, size), 8)
            // Keep the bytes after the written ones; for size == 32 the mask is zero.
            let keep := sub(shl(shift, 1), 1)
            mstore(dest, or(shl(shift, value), and(mload(dest), keep)))
            mstore(buf, add(length, size))
        }
    }

    /// @notice Appends raw bytes.
    function appendBytes(Buffer memory b, bytes memory data) internal pure {
        uint256 length = b.buf.length;
        uint256 size = data.length;
        _reserve(b, length + size);
        bytes memory buf = b.buf;
        assembly ("memory-safe") {
            let dest := add(add(buf, 32), length)
            let src := add(data, 32)
            let remaining := size
            for {} gt(remaining, 31) {} {
                mstore(dest, mload(src))
                dest := add(dest, 32)
                src := add(src, 32)
                remaining := sub(remaining, 32)
            }
            if remaining {
                let keep := sub(shl(mul(sub(32, remaining), 8), 1), 1)
                mstore(dest, or(and(mload(src), not(keep)), and(mload(dest), keep)))
            }
            mstore(buf, add(length, size))
        }
    }

    /// @notice Writes a head (major type + argument) in its shortest form.
    function encodeHead(Buffer memory b, uint8 majorType, uint64 value) internal pure {
        uint8 major = majorType << 5;
        if (value <= 23) {
            // casting to 'uint8' is safe because value <= 23
            // forge-lint: disable-next-line(unsafe-typecast)
            appendUint8(b, major | uint8(value));
        } else if (value <= type(uint8).max) {
            appendUint8(b, major | 24);
            appendUint(b, value, 1);
        } else if (value <= type(uint16).max) {
            appendUint8(b, major | 25);
            appendUint(b, value, 2);
        } else if (value <= type(uint32).max) {
            appendUint8(b, major | 26);
            appendUint(b, value, 4);
        } else {
            appendUint8(b, major | 27);
            appendUint(b, value, 8);
        }
    }

    /// @notice Writes the head of an indefinite-length item of `majorType` (array or map).
    function startIndefinite(Buffer memory b, uint8 majorType) internal pure {
        appendUint8(b, (majorType << 5) | INDEFINITE_LENGTH);
    }

    /// @notice Starts an indefinite-length array (0x9F).
    function startArray(Buffer memory b) internal pure {
        startIndefinite(b, MAJOR_TYPE_ARRAY);
    }

    /// @notice Starts an indefinite-length map (0xBF).
    function startMap(Buffer memory b) internal pure {
        startIndefinite(b, MAJOR_TYPE_MAP);
    }

    /// @notice Closes an indefinite-length item (0xFF).
    function endSequence(Buffer memory b) internal pure {
        appendUint8(b, BREAK);
    }

    /// @notice Writes an unsigned integer.
    function encodeUInt(Buffer memory b, uint256 value) internal pure {
        if (value > type(uint64).max) {
            _encodeBignum(b, TAG_POSITIVE_BIGNUM, value);
        } else {
            // casting to 'uint64' is safe because value <= type(uint64).max
            // forge-lint: disable-next-line(unsafe-typecast)
            encodeHead(b, MAJOR_TYPE_INT, uint64(value));
        }
    }

    /// @notice Writes a signed integer (negative n is encoded as -1 - n, per CBOR).
    function encodeInt(Buffer memory b, int256 value) internal pure {
        if (value >= 0) {
            // casting to 'uint256' is safe because value >= 0
            // forge-lint: disable-next-line(unsafe-typecast)
            encodeUInt(b, uint256(value));
            return;
        }
        // casting to 'uint256' is safe because -1 - value is in [0, type(int256).max] for value < 0
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 magnitude = uint256(-1 - value);
        if (magnitude > type(uint64).max) {
            _encodeBignum(b, TAG_NEGATIVE_BIGNUM, magnitude);
        } else {
            // casting to 'uint64' is safe because magnitude <= type(uint64).max
            // forge-lint: disable-next-line(unsafe-typecast)
            encodeHead(b, MAJOR_TYPE_NEGATIVE_INT, uint64(magnitude));
        }
    }

    /// @notice Writes a byte string.
    function encodeBytes(Buffer memory b, bytes memory value) internal pure {
        encodeHead(b, MAJOR_TYPE_BYTES, uint64(value.length));
        appendBytes(b, value);
    }

    /// @notice Writes a UTF-8 text string.
    function encodeString(Buffer memory b, string memory value) internal pure {
        encodeHead(b, MAJOR_TYPE_STRING, uint64(bytes(value).length));
        appendBytes(b, bytes(value));
    }

    function _encodeBignum(Buffer memory b, uint8 tag, uint256 value) private pure {
        encodeHead(b, MAJOR_TYPE_TAG, tag);
        encodeBytes(b, abi.encode(value));
    }

    /// @dev Makes sure the buffer can hold `needed` bytes, at least doubling its capacity.
    function _reserve(Buffer memory b, uint256 needed) private pure {
        if (needed <= b.capacity) return;
        uint256 doubled = b.capacity * 2;
        bytes memory old = b.buf;
        _allocate(b, needed > doubled ? needed : doubled);
        appendBytes(b, old);
    }

    /// @dev Points `b` at a fresh, empty allocation of `capacity` bytes rounded up to a word.
    function _allocate(Buffer memory b, uint256 capacity) private pure {
        if (capacity % 32 != 0) capacity += 32 - (capacity % 32);
        bytes memory buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mstore(buf, 0)
            mstore(0x40, add(add(buf, 32), capacity))
        }
        b.buf = buf;
        b.capacity = capacity;
    }
}
