// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../../src/token/IERC677.sol";
import {IOracle} from "../../src/oracle/IOracle.sol";

/// @dev A raw requester: sends hand-built `oracleRequest` / `operatorRequest` payloads through
///      LINK `transferAndCall` and can cancel, so tests control every field (nonce, version, ...).
contract Requester {
    IERC677 public immutable link;
    IOracle public immutable oracle;

    constructor(IERC677 link_, IOracle oracle_) {
        link = link_;
        oracle = oracle_;
    }

    function oracleRequest(
        uint256 payment,
        bytes32 specId,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion,
        bytes calldata data
    ) external returns (bytes32 requestId) {
        link.transferAndCall(
            address(oracle),
            payment,
            abi.encodeCall(
                IOracle.oracleRequest,
                (address(0), 0, specId, callbackAddress, callbackFunctionId, nonce, dataVersion, data)
            )
        );
        return keccak256(abi.encodePacked(address(this), nonce));
    }

    function operatorRequest(
        uint256 payment,
        bytes32 specId,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion,
        bytes calldata data
    ) external returns (bytes32 requestId) {
        link.transferAndCall(
            address(oracle),
            payment,
            abi.encodeCall(
                IOracle.operatorRequest, (address(0), 0, specId, callbackFunctionId, nonce, dataVersion, data)
            )
        );
        return keccak256(abi.encodePacked(address(this), nonce));
    }

    function cancel(bytes32 requestId, uint256 payment, bytes4 callbackFunc, uint256 expiration) external {
        oracle.cancelOracleRequest(requestId, payment, callbackFunc, expiration);
    }

    /// @dev A callback that accepts anything.
    function callback(bytes32, uint256) external {}
}
