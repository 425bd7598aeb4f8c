// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleClient} from "../oracle/OracleClient.sol";
import {RequestLib} from "../oracle/RequestLib.sol";

/// @title PriceConsumer: example consumer that asks an orakel oracle for prices.
/// @notice Used by the devnet and the end-to-end tests. It pays for requests from its own LINK
///         balance; anyone may trigger a request (it is an example, fund it accordingly).
contract PriceConsumer is OracleClient {
    using RequestLib for RequestLib.Request;

    /// @notice The most recent answer.
    uint256 public latestAnswer;
    /// @notice The most recently fulfilled request.
    bytes32 public latestRequestId;
    /// @notice How many requests were fulfilled.
    uint256 public fulfilledCount;

    /// @notice A request was sent; `pair` is the pair asked for (the URL for `requestUrl`).
    event PriceRequested(bytes32 indexed requestId, string pair);
    /// @notice An answer arrived.
    event PriceFulfilled(bytes32 indexed requestId, uint256 value);

    /// @param link The LINK token used to pay.
    /// @param oracle The oracle requests are sent to.
    constructor(address link, address oracle) {
        _setLinkToken(link);
        _setOracle(oracle);
    }

    /// @notice Requests the price of `pair` scaled by `times`, with the `oracleRequest` encoding (v1).
    /// @param specId The job to run.
    /// @param pair The pair, e.g. "ETH/USD" (parameter `pair`).
    /// @param times The multiplier (parameter `times`).
    /// @param payment The LINK to pay.
    /// @return requestId The request ID.
    function requestPrice(bytes32 specId, string calldata pair, int256 times, uint256 payment)
        external
        returns (bytes32 requestId)
    {
        RequestLib.Request memory req = _buildRequest(specId, address(this), this.fulfill.selector);
        req.add("pair", pair);
        req.addInt("times", times);
        requestId = _sendRequest(req, payment);
        emit PriceRequested(requestId, pair);
    }

    /// @notice Like `requestPrice`, with the `operatorRequest` encoding (v2; answered by
    ///         `fulfillOracleRequest2`, which calls the same `fulfill`).
    /// @param specId The job to run.
    /// @param pair The pair, e.g. "ETH/USD" (parameter `pair`).
    /// @param times The multiplier (parameter `times`).
    /// @param payment The LINK to pay.
    /// @return requestId The request ID.
    function requestPriceOperator(bytes32 specId, string calldata pair, int256 times, uint256 payment)
        external
        returns (bytes32 requestId)
    {
        RequestLib.Request memory req = _buildRequest(specId, address(this), this.fulfill.selector);
        req.add("pair", pair);
        req.addInt("times", times);
        requestId = _sendOperatorRequest(req, payment);
        emit PriceRequested(requestId, pair);
    }

    /// @notice Requests a value from `url`, picked by the comma-separated JSON `path` and scaled by
    ///         `times` (the classic `get` / `path` / `times` parameters), with the v1 encoding.
    /// @param specId The job to run.
    /// @param url The URL to fetch (parameter `get`).
    /// @param path The comma-separated JSON path (parameter `path`).
    /// @param times The multiplier (parameter `times`).
    /// @param payment The LINK to pay.
    /// @return requestId The request ID.
    function requestUrl(bytes32 specId, string calldata url, string calldata path, int256 times, uint256 payment)
        external
        returns (bytes32 requestId)
    {
        RequestLib.Request memory req = _buildRequest(specId, address(this), this.fulfill.selector);
        req.add("get", url);
        req.add("path", path);
        req.addInt("times", times);
        requestId = _sendRequest(req, payment);
        emit PriceRequested(requestId, url);
    }

    /// @notice Receives an answer; only from the oracle the request was sent to, and only once.
    /// @param requestId The answered request.
    /// @param value The answer.
    function fulfill(bytes32 requestId, uint256 value) external recordFulfillment(requestId) {
        latestAnswer = value;
        latestRequestId = requestId;
        fulfilledCount += 1;
        emit PriceFulfilled(requestId, value);
    }

    /// @notice Cancels an expired, unanswered request; the payment comes back to this contract.
    /// @param requestId The request.
    /// @param payment Its payment.
    /// @param callbackFunctionId Its callback selector.
    /// @param expiration Its cancel expiration (from the `OracleRequest` event).
    function cancelRequest(bytes32 requestId, uint256 payment, bytes4 callbackFunctionId, uint256 expiration) external {
        _cancelRequest(requestId, payment, callbackFunctionId, expiration);
    }

    /// @notice The oracle requests are sent to.
    /// @return The oracle address.
    function oracleAddress() external view returns (address) {
        return _oracleAddress();
    }

    /// @notice The LINK token used to pay.
    /// @return The token address.
    function linkToken() external view returns (address) {
        return _linkTokenAddress();
    }

    /// @notice The oracle a request is pending at (zero if it is not pending).
    /// @param requestId The request.
    /// @return The oracle address.
    function pendingOracle(bytes32 requestId) external view returns (address) {
        return _pendingOracle(requestId);
    }
}
