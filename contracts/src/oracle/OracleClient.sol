// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../token/IERC677.sol";
import {IOracle} from "./IOracle.sol";
import {RequestLib} from "./RequestLib.sol";

/// @title OracleClient: base contract for contracts that request data from an orakel `Oracle`.
/// @notice Builds requests, pays for them with LINK `transferAndCall`, tracks which oracle owes
///         which answer, and lets only that oracle deliver it, once. Event names match the
///         familiar client library so existing indexers keep working.
abstract contract OracleClient {
    using RequestLib for RequestLib.Request;

    /// @notice One whole LINK (18 decimals).
    uint256 internal constant LINK_DIVISIBILITY = 1e18;
    /// @dev Data version of the `oracleRequest` encoding.
    uint256 private constant ORACLE_ARGS_VERSION = 1;
    /// @dev Data version of the `operatorRequest` encoding.
    uint256 private constant OPERATOR_ARGS_VERSION = 2;
    /// @dev Placeholders; the oracle overwrites them with the real token sender and amount.
    address private constant SENDER_OVERRIDE = address(0);
    uint256 private constant AMOUNT_OVERRIDE = 0;

    IERC677 private s_link;
    address private s_oracle;
    uint256 private s_requestCount = 1;
    mapping(bytes32 requestId => address oracle) private s_pendingRequests;

    /// @notice A request was sent.
    event ChainlinkRequested(bytes32 indexed id);
    /// @notice A request was answered.
    event ChainlinkFulfilled(bytes32 indexed id);
    /// @notice A request was cancelled.
    event ChainlinkCancelled(bytes32 indexed id);
    /// @notice A request made by another contract is now accepted from `oracle`.
    event ExternalRequestAdded(bytes32 indexed id, address indexed oracle);
    /// @notice The default oracle changed.
    event OracleSet(address indexed oracle);
    /// @notice The LINK token used to pay changed.
    event LinkTokenSet(address indexed link);

    /// @notice The caller is not the oracle that owes the answer to this (pending) request.
    error SourceMustBeOracle(bytes32 requestId, address caller);
    /// @notice A request with this ID is already pending.
    error RequestAlreadyPending(bytes32 requestId);
    /// @notice No request with this ID is pending.
    error RequestNotPending(bytes32 requestId);
    /// @notice The LINK transfer to the oracle failed.
    error TransferAndCallFailed(address oracle, uint256 payment);

    /// @dev Only the oracle the request was sent to may answer it, and only once.
    modifier recordFulfillment(bytes32 requestId) {
        _validateFulfillment(requestId);
        _;
    }

    /// @dev Only for requests that are not pending yet (see `_addExternalRequest`).
    modifier notPendingRequest(bytes32 requestId) {
        if (s_pendingRequests[requestId] != address(0)) revert RequestAlreadyPending(requestId);
        _;
    }

    /// @notice Creates a request for `specId` answered via `callbackAddress.callbackFunctionId`.
    function _buildRequest(bytes32 specId, address callbackAddress, bytes4 callbackFunctionId)
        internal
        pure
        returns (RequestLib.Request memory req)
    {
        return req.initialize(specId, callbackAddress, callbackFunctionId);
    }

    /// @notice Sends `req` to the default oracle with the `oracleRequest` encoding (data version 1).
    function _sendRequest(RequestLib.Request memory req, uint256 payment) internal returns (bytes32) {
        return _sendRequestTo(s_oracle, req, payment);
    }

    /// @notice Sends `req` to `oracle` with the `oracleRequest` encoding (data version 1).
    function _sendRequestTo(address oracle, RequestLib.Request memory req, uint256 payment)
        internal
        returns (bytes32 requestId)
    {
        uint256 nonce = s_requestCount;
        bytes memory call_ = abi.encodeCall(
            IOracle.oracleRequest,
            (
                SENDER_OVERRIDE,
                AMOUNT_OVERRIDE,
                req.specId,
                req.callbackAddress,
                req.callbackFunctionId,
                nonce,
                ORACLE_ARGS_VERSION,
                req.encoded()
            )
        );
        return _send(oracle, nonce, payment, call_);
    }

    /// @notice Sends `req` to the default oracle with the `operatorRequest` encoding (data version 2;
    ///         the answer goes to this contract).
    function _sendOperatorRequest(RequestLib.Request memory req, uint256 payment) internal returns (bytes32) {
        return _sendOperatorRequestTo(s_oracle, req, payment);
    }

    /// @notice Sends `req` to `oracle` with the `operatorRequest` encoding (data version 2).
    function _sendOperatorRequestTo(address oracle, RequestLib.Request memory req, uint256 payment)
        internal
        returns (bytes32 requestId)
    {
        uint256 nonce = s_requestCount;
        bytes memory call_ = abi.encodeCall(
            IOracle.operatorRequest,
            (
                SENDER_OVERRIDE,
                AMOUNT_OVERRIDE,
                req.specId,
                req.callbackFunctionId,
                nonce,
                OPERATOR_ARGS_VERSION,
                req.encoded()
            )
        );
        return _send(oracle, nonce, payment, call_);
    }

    /// @notice Cancels a pending request after its expiration; the oracle refunds the payment here.
    /// @param requestId The request to cancel.
    /// @param payment Its payment.
    /// @param callbackFunctionId Its callback selector.
    /// @param expiration Its cancel expiration (from the `OracleRequest` event).
    function _cancelRequest(bytes32 requestId, uint256 payment, bytes4 callbackFunctionId, uint256 expiration)
        internal
    {
        address oracle = s_pendingRequests[requestId];
        if (oracle == address(0)) revert RequestNotPending(requestId);
        delete s_pendingRequests[requestId];
        emit ChainlinkCancelled(requestId);
        IOracle(oracle).cancelOracleRequest(requestId, payment, callbackFunctionId, expiration);
    }

    /// @notice Tracks a request made by another contract so this one can accept its answer.
    function _addExternalRequest(address oracle, bytes32 requestId) internal notPendingRequest(requestId) {
        s_pendingRequests[requestId] = oracle;
        emit ExternalRequestAdded(requestId, oracle);
    }

    /// @notice Sets the LINK token used to pay.
    function _setLinkToken(address link) internal {
        s_link = IERC677(link);
        emit LinkTokenSet(link);
    }

    /// @notice Sets the default oracle.
    function _setOracle(address oracle) internal {
        s_oracle = oracle;
        emit OracleSet(oracle);
    }

    /// @notice The LINK token used to pay.
    function _linkTokenAddress() internal view returns (address) {
        return address(s_link);
    }

    /// @notice The default oracle.
    function _oracleAddress() internal view returns (address) {
        return s_oracle;
    }

    /// @notice The nonce the next request will use.
    function _nextNonce() internal view returns (uint256) {
        return s_requestCount;
    }

    /// @notice The oracle a request is pending at, or zero.
    function _pendingOracle(bytes32 requestId) internal view returns (address) {
        return s_pendingRequests[requestId];
    }

    /// @notice Checks that the caller is the oracle owing `requestId`, and closes the request.
    function _validateFulfillment(bytes32 requestId) internal {
        if (msg.sender != s_pendingRequests[requestId]) revert SourceMustBeOracle(requestId, msg.sender);
        delete s_pendingRequests[requestId];
        emit ChainlinkFulfilled(requestId);
    }

    function _send(address oracle, uint256 nonce, uint256 payment, bytes memory call_)
        private
        returns (bytes32 requestId)
    {
        requestId = keccak256(abi.encodePacked(address(this), nonce));
        s_pendingRequests[requestId] = oracle;
        emit ChainlinkRequested(requestId);
        if (!s_link.transferAndCall(oracle, payment, call_)) revert TransferAndCallFailed(oracle, payment);
        s_requestCount = nonce + 1;
    }
}
