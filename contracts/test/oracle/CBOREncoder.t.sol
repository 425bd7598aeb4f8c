// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {CBOREncoder} from "../../src/oracle/CBOREncoder.sol";
import {RequestLib} from "../../src/oracle/RequestLib.sol";

/// Expected bytes are written by hand from RFC 8949: a head byte is (major type << 5) | info,
/// info 0..23 = the value itself, 24/25/26/27 = a 1/2/4/8-byte value follows, 31 = indefinite;
/// major 0 = uint, 1 = negative (-1 - n), 2 = bytes, 3 = text, 4 = array, 6 = tag; 0xFF = break.
contract CBOREncoderTest is Test {
    using CBOREncoder for CBOREncoder.Buffer;
    using RequestLib for RequestLib.Request;

    function _uint(uint256 value) internal pure returns (bytes memory) {
        CBOREncoder.Buffer memory b = CBOREncoder.create(0);
        b.encodeUInt(value);
        return b.buf;
    }

    function _int(int256 value) internal pure returns (bytes memory) {
        CBOREncoder.Buffer memory b = CBOREncoder.create(0);
        b.encodeInt(value);
        return b.buf;
    }

    function _req() internal pure returns (RequestLib.Request memory req) {
        return req.initialize(bytes32("spec"), address(0xBEEF), bytes4(0x12345678));
    }

    function test_unsignedHeads() public pure {
        assertEq(_uint(0), hex"00", "0");
        assertEq(_uint(1), hex"01", "1");
        assertEq(_uint(23), hex"17", "23: last immediate");
        assertEq(_uint(24), hex"1818", "24: one-byte follows");
        assertEq(_uint(100), hex"1864", "100");
        assertEq(_uint(255), hex"18ff", "255");
        assertEq(_uint(256), hex"190100", "256: two bytes follow");
        assertEq(_uint(65_535), hex"19ffff", "65535");
        assertEq(_uint(65_536), hex"1a00010000", "65536: four bytes follow");
        assertEq(_uint(4_294_967_295), hex"1affffffff", "2^32-1");
        assertEq(_uint(4_294_967_296), hex"1b0000000100000000", "2^32: eight bytes follow");
        assertEq(_uint(type(uint64).max), hex"1bffffffffffffffff", "2^64-1");
    }

    function test_unsignedBignum() public pure {
        // tag(2) = 0xC2, then bytes(32) = 0x58 0x20 and the 32-byte big-endian value.
        assertEq(
            _uint(uint256(type(uint64).max) + 1),
            hex"c258200000000000000000000000000000000000000000000000010000000000000000",
            "2^64"
        );
        assertEq(
            _uint(type(uint256).max),
            hex"c25820ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "2^256-1"
        );
    }

    function test_signedHeads() public pure {
        assertEq(_int(0), hex"00", "0");
        assertEq(_int(10), hex"0a", "10");
        assertEq(_int(-1), hex"20", "-1 = major 1, n 0");
        assertEq(_int(-10), hex"29", "-10 = n 9");
        assertEq(_int(-24), hex"37", "-24 = n 23");
        assertEq(_int(-25), hex"3818", "-25 = n 24");
        assertEq(_int(-100), hex"3863", "-100 = n 99");
        assertEq(_int(-1000), hex"3903e7", "-1000 = n 999");
        assertEq(_int(-18_446_744_073_709_551_616), hex"3bffffffffffffffff", "-2^64 = n 2^64-1");
        assertEq(_int(int256(uint256(type(uint64).max))), hex"1bffffffffffffffff", "2^64-1");
    }

    function test_signedBignum() public pure {
        // -2^64 - 1 = -1 - 2^64: tag(3) = 0xC3, payload 2^64 as 32 bytes.
        assertEq(
            _int(-18_446_744_073_709_551_617),
            hex"c358200000000000000000000000000000000000000000000000010000000000000000",
            "-2^64-1"
        );
        // int256 min = -2^255: payload -1 - (-2^255) = 2^255 - 1.
        assertEq(
            _int(type(int256).min),
            hex"c358207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "int256 min"
        );
        assertEq(
            _int(type(int256).max),
            hex"c258207fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "int256 max"
        );
    }

    function test_stringsAndBytes() public pure {
        CBOREncoder.Buffer memory b = CBOREncoder.create(0);
        b.encodeString("");
        b.encodeString("a");
        b.encodeBytes(hex"0102");
        b.encodeString("abcdefghijklmnopqrstuvwx"); // 24 chars: 0x78 0x18 then the text
        assertEq(b.buf, bytes.concat(hex"60", hex"6161", hex"420102", hex"7818", "abcdefghijklmnopqrstuvwx"), "mix");
    }

    /// The request parameters the example consumer sends: pair, times.
    function test_request_priceParams() public pure {
        RequestLib.Request memory req = _req();
        req.add("pair", "ETH/USD");
        req.addInt("times", 100);
        assertEq(req.encoded(), hex"6470616972674554482f5553446574696d65731864", "pair + times");
    }

    /// The classic get/path/times parameters.
    function test_request_urlParams() public pure {
        RequestLib.Request memory req = _req();
        req.add("get", "https://x.io/p");
        req.add("path", "data,price");
        req.addInt("times", 1_000_000); // 0x1a (four bytes) 000f4240
        assertEq(
            req.encoded(),
            bytes.concat(
                hex"63",
                "get",
                hex"6e",
                "https://x.io/p",
                hex"64",
                "path",
                hex"6a",
                "data,price",
                hex"65",
                "times",
                hex"1a000f4240"
            ),
            "get + path + times"
        );
    }

    function test_request_allParamKinds() public pure {
        RequestLib.Request memory req = _req();
        string[] memory path = new string[](2);
        path[0] = "data";
        path[1] = "0";
        req.addStringArray("path", path);
        req.addBytes("blob", hex"deadbeef");
        req.addUint("u", 500);
        req.addInt("i", -500);
        assertEq(
            req.encoded(),
            bytes.concat(
                hex"64",
                "path",
                hex"9f",
                hex"64",
                "data",
                hex"61",
                "0",
                hex"ff", // indefinite array
                hex"64",
                "blob",
                hex"44deadbeef", // bytes(4)
                hex"61",
                "u",
                hex"1901f4", // 500 = 0x01f4
                hex"61",
                "i",
                hex"3901f3" // -500 = -1 - 499, 499 = 0x01f3
            ),
            "array, bytes, uint, int"
        );
    }

    function test_request_emptyStringArray() public pure {
        RequestLib.Request memory req = _req();
        req.addStringArray("k", new string[](0));
        assertEq(req.encoded(), hex"616b9fff", "empty indefinite array");
    }

    function test_request_setBufferReplacesParams() public pure {
        RequestLib.Request memory req = _req();
        req.add("x", "y");
        req.setBuffer(hex"a1616101");
        assertEq(req.encoded(), hex"a1616101", "raw buffer");
        req.addUint("b", 2);
        assertEq(req.encoded(), hex"a1616101616202", "appends after raw buffer");
    }

    function test_request_initializeFields() public pure {
        RequestLib.Request memory req = _req();
        assertEq(req.specId, bytes32("spec"), "spec");
        assertEq(req.callbackAddress, address(0xBEEF), "callback");
        assertEq(bytes32(req.callbackFunctionId), bytes32(bytes4(0x12345678)), "selector");
        assertEq(req.encoded().length, 0, "empty");
    }

    /// Growing the buffer never loses or corrupts bytes, and does not touch neighbouring memory.
    function testFuzz_appendMatchesConcat(bytes memory a, bytes memory c, uint8 d, uint8 capacity) public pure {
        CBOREncoder.Buffer memory b = CBOREncoder.create(capacity % 40);
        bytes memory neighbour = hex"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123";
        bytes memory copy = bytes.concat(neighbour);
        b.appendBytes(a);
        b.appendUint8(d);
        b.appendBytes(c);
        b.appendUint(uint256(d) * 0x0101, 2);
        assertEq(b.buf, bytes.concat(a, bytes1(d), c, bytes2(uint16(uint256(d) * 0x0101))), "content");
        assertEq(neighbour, copy, "neighbour intact");
        assertLe(b.buf.length, b.capacity, "within capacity");
    }

    /// Every integer round-trips through a reference decoder of the head.
    function testFuzz_intHeadDecodes(int256 value) public pure {
        bytes memory enc = _int(value);
        uint8 major = uint8(enc[0]) >> 5;
        if (value >= 0 && uint256(value) <= type(uint64).max) {
            assertEq(uint256(major), 0, "major 0");
            assertEq(_headValue(enc), uint256(value), "value");
        } else if (value < 0 && uint256(-1 - value) <= type(uint64).max) {
            assertEq(uint256(major), 1, "major 1");
            assertEq(_headValue(enc), uint256(-1 - value), "magnitude");
        } else {
            assertEq(uint256(major), 6, "tag");
            assertEq(enc.length, 35, "tag + bytes(32) head + 32 bytes");
            uint256 payload = uint256(bytes32(_tail(enc, 3)));
            assertEq(payload, value >= 0 ? uint256(value) : uint256(-1 - value), "payload");
        }
    }

    /// The head is always the shortest one that fits.
    function testFuzz_uintHeadIsShortest(uint64 value) public pure {
        bytes memory enc = _uint(value);
        uint256 expected = value <= 23 ? 1 : value <= 0xff ? 2 : value <= 0xffff ? 3 : value <= 0xffffffff ? 5 : 9;
        assertEq(enc.length, expected, "length");
        assertEq(_headValue(enc), value, "value");
    }

    function _headValue(bytes memory enc) private pure returns (uint256 value) {
        uint8 info = uint8(enc[0]) & 31;
        if (info <= 23) return info;
        uint256 size = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : 8;
        for (uint256 i = 1; i <= size; ++i) {
            value = (value << 8) | uint8(enc[i]);
        }
    }

    function _tail(bytes memory data, uint256 from) private pure returns (bytes memory out) {
        out = new bytes(data.length - from);
        for (uint256 i = from; i < data.length; ++i) {
            out[i - from] = data[i];
        }
    }
}
