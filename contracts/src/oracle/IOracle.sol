// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title The request/response interface of an orakel `Oracle`.
/// @notice Matches the events, selectors and semantics of the widely used operator contract, so
///         existing consumer contracts and nodes work unchanged.
interface IOracle {
    /// @notice A request was accepted and escrowed; nodes watch for this event.
    /// @param specId The job (spec) the request is for.
    /// @param requester The contract that paid for the request.
    /// @param requestId keccak256(abi.encodePacked(requester, nonce)).
    /// @param payment The LINK paid (escrowed until fulfilment or cancellation).
    /// @param callbackAddr The contract to call with the answer.
    /// @param callbackFunctionId The selector to call on `callbackAddr`.
    /// @param cancelExpiration The time after which the requester may cancel.
    /// @param dataVersion 1 for `oracleRequest`, 2 for `operatorRequest`.
    /// @param data CBOR-encoded request parameters (key/value pairs without a map header).
    event OracleRequest(
        bytes32 indexed specId,
        address requester,
        bytes32 requestId,
        uint256 payment,
        address callbackAddr,
        bytes4 callbackFunctionId,
        uint256 cancelExpiration,
        uint256 dataVersion,
        bytes data
    );

    /// @notice A request was fulfilled (whether or not the consumer callback succeeded).
    /// @param requestId The fulfilled request.
    event OracleResponse(bytes32 indexed requestId);

    /// @notice A request was cancelled and its payment refunded.
    /// @param requestId The cancelled request.
    event CancelOracleRequest(bytes32 indexed requestId);

    /// @notice Creates a request (data version 1). Only reachable through LINK `transferAndCall`:
    ///         `sender` and `payment` are overwritten with the real token sender and amount.
    /// @param sender Placeholder; replaced by the token sender.
    /// @param payment Placeholder; replaced by the amount transferred.
    /// @param specId The job (spec) to run.
    /// @param callbackAddress The contract to call with the answer.
    /// @param callbackFunctionId The selector to call on `callbackAddress`.
    /// @param nonce Requester-chosen nonce; makes the request ID unique.
    /// @param dataVersion The request format version (1).
    /// @param data CBOR-encoded request parameters.
    function oracleRequest(
        address sender,
        uint256 payment,
        bytes32 specId,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion,
        bytes calldata data
    ) external;

    /// @notice Creates a request (data version 2) whose callback address is the requester.
    ///         Only reachable through LINK `transferAndCall`, like `oracleRequest`.
    /// @param sender Placeholder; replaced by the token sender (also the callback address).
    /// @param payment Placeholder; replaced by the amount transferred.
    /// @param specId The job (spec) to run.
    /// @param callbackFunctionId The selector to call on the requester.
    /// @param nonce Requester-chosen nonce; makes the request ID unique.
    /// @param dataVersion The request format version (2).
    /// @param data CBOR-encoded request parameters.
    function operatorRequest(
        address sender,
        uint256 payment,
        bytes32 specId,
        bytes4 callbackFunctionId,
        uint256 nonce,
        uint256 dataVersion,
        bytes calldata data
    ) external;

    /// @notice Answers a request with one 32-byte word; callback is `callbackFunctionId(requestId, data)`.
    /// @param requestId The request to fulfil.
    /// @param payment The payment of the request.
    /// @param callbackAddress The callback address of the request.
    /// @param callbackFunctionId The callback selector of the request.
    /// @param expiration The cancel expiration of the request.
    /// @param data The answer.
    /// @return success Whether the consumer callback succeeded.
    function fulfillOracleRequest(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        bytes32 data
    ) external returns (bool success);

    /// @notice Answers a request with arbitrary ABI data whose first word is the request ID;
    ///         callback is `abi.encodePacked(callbackFunctionId, data)`.
    /// @param requestId The request to fulfil.
    /// @param payment The payment of the request.
    /// @param callbackAddress The callback address of the request.
    /// @param callbackFunctionId The callback selector of the request.
    /// @param expiration The cancel expiration of the request.
    /// @param data The ABI-encoded answer, starting with `requestId`.
    /// @return success Whether the consumer callback succeeded.
    function fulfillOracleRequest2(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        bytes calldata data
    ) external returns (bool success);

    /// @notice Cancels an expired, unfulfilled request and refunds its payment to the caller,
    ///         which must be the request's callback address.
    /// @param requestId The request to cancel.
    /// @param payment The payment of the request.
    /// @param callbackFunc The callback selector of the request.
    /// @param expiration The cancel expiration of the request.
    function cancelOracleRequest(bytes32 requestId, uint256 payment, bytes4 callbackFunc, uint256 expiration) external;
}
