// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleClient} from "../oracle/OracleClient.sol";
import {RequestLib} from "../oracle/RequestLib.sol";

/// @title RevertingConsumer: a consumer whose callback always reverts.
/// @notice For tests of the rule that a failing callback does not undo a fulfilment: the oracle
///         still closes the request and earns the payment, and `fulfillOracleRequest` returns false.
contract RevertingConsumer is OracleClient {
    using RequestLib for RequestLib.Request;

    /// @notice Raised by every callback.
    error CallbackRejected(bytes32 requestId);

    /// @notice A request was sent.
    event PriceRequested(bytes32 indexed requestId, string pair);

    /// @param link The LINK token used to pay.
    /// @param oracle The oracle requests are sent to.
    constructor(address link, address oracle) {
        _setLinkToken(link);
        _setOracle(oracle);
    }

    /// @notice Requests a price with the v1 encoding (same parameters as `PriceConsumer.requestPrice`).
    /// @param specId The job to run.
    /// @param pair The pair (parameter `pair`).
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

    /// @notice Requests a price with the v2 encoding.
    /// @param specId The job to run.
    /// @param pair The pair (parameter `pair`).
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

    /// @notice The callback; always reverts with `CallbackRejected`.
    /// @param requestId The answered request.
    function fulfill(bytes32 requestId, uint256) external pure {
        revert CallbackRejected(requestId);
    }
}
