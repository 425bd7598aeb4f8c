// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {CBOREncoder} from "./CBOREncoder.sol";

/// @title RequestLib: builds the parameters of an oracle request.
/// @notice Parameters are CBOR key/value pairs written one after another WITHOUT a map header:
///         the node wraps the bytes as an indefinite-length map (the "diet" encoding that existing
///         client libraries produce and existing nodes expect).
library RequestLib {
    using CBOREncoder for CBOREncoder.Buffer;

    /// @notice Initial buffer size; it grows when more is written.
    uint256 internal constant DEFAULT_BUFFER_SIZE = 256;

    /// @param specId The job (spec) the request is for.
    /// @param callbackAddress The contract the answer is delivered to (oracleRequest encoding only).
    /// @param callbackFunctionId The selector called with the answer.
    /// @param nonce Filled in when the request is sent.
    /// @param buf The CBOR-encoded parameters.
    struct Request {
        bytes32 specId;
        address callbackAddress;
        bytes4 callbackFunctionId;
        uint256 nonce;
        CBOREncoder.Buffer buf;
    }

    /// @notice Sets up an empty request.
    function initialize(Request memory self, bytes32 specId, address callbackAddress, bytes4 callbackFunctionId)
        internal
        pure
        returns (Request memory)
    {
        self.buf = CBOREncoder.create(DEFAULT_BUFFER_SIZE);
        self.specId = specId;
        self.callbackAddress = callbackAddress;
        self.callbackFunctionId = callbackFunctionId;
        return self;
    }

    /// @notice Replaces all parameters with already CBOR-encoded bytes.
    function setBuffer(Request memory self, bytes memory data) internal pure {
        self.buf = CBOREncoder.create(data.length);
        self.buf.appendBytes(data);
    }

    /// @notice Adds a text parameter.
    function add(Request memory self, string memory key, string memory value) internal pure {
        self.buf.encodeString(key);
        self.buf.encodeString(value);
    }

    /// @notice Adds a byte-string parameter.
    function addBytes(Request memory self, string memory key, bytes memory value) internal pure {
        self.buf.encodeString(key);
        self.buf.encodeBytes(value);
    }

    /// @notice Adds a signed integer parameter.
    function addInt(Request memory self, string memory key, int256 value) internal pure {
        self.buf.encodeString(key);
        self.buf.encodeInt(value);
    }

    /// @notice Adds an unsigned integer parameter.
    function addUint(Request memory self, string memory key, uint256 value) internal pure {
        self.buf.encodeString(key);
        self.buf.encodeUInt(value);
    }

    /// @notice Adds an array-of-text parameter (an indefinite-length array: 0x9F ... 0xFF).
    function addStringArray(Request memory self, string memory key, string[] memory values) internal pure {
        self.buf.encodeString(key);
        self.buf.startArray();
        for (uint256 i = 0; i < values.length; ++i) {
            self.buf.encodeString(values[i]);
        }
        self.buf.endSequence();
    }

    /// @notice The encoded parameters.
    function encoded(Request memory self) internal pure returns (bytes memory) {
        return self.buf.buf;
    }
}
