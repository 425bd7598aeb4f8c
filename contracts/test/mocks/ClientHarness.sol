// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleClient} from "../../src/oracle/OracleClient.sol";
import {RequestLib} from "../../src/oracle/RequestLib.sol";

/// @dev Exposes OracleClient's internal functions for tests.
contract ClientHarness is OracleClient {
    using RequestLib for RequestLib.Request;

    event Answer(bytes32 requestId, bytes32 value);

    constructor(address link, address oracle) {
        _setLinkToken(link);
        _setOracle(oracle);
    }

    function sendWithUint(bytes32 specId, uint256 value, uint256 payment) external returns (bytes32) {
        RequestLib.Request memory req = _buildRequest(specId, address(this), this.receiveAnswer.selector);
        req.addUint("value", value);
        return _sendRequest(req, payment);
    }

    function sendOperatorTo(address oracle, bytes32 specId, uint256 payment) external returns (bytes32) {
        RequestLib.Request memory req = _buildRequest(specId, address(this), this.receiveAnswer.selector);
        return _sendOperatorRequestTo(oracle, req, payment);
    }

    function sendWithCallback(bytes32 specId, address callback, bytes4 selector, uint256 payment)
        external
        returns (bytes32)
    {
        RequestLib.Request memory req = _buildRequest(specId, callback, selector);
        return _sendRequest(req, payment);
    }

    function addExternalRequest(address oracle, bytes32 requestId) external {
        _addExternalRequest(oracle, requestId);
    }

    function cancel(bytes32 requestId, uint256 payment, bytes4 callbackFunctionId, uint256 expiration) external {
        _cancelRequest(requestId, payment, callbackFunctionId, expiration);
    }

    function setOracle(address oracle) external {
        _setOracle(oracle);
    }

    function nextNonce() external view returns (uint256) {
        return _nextNonce();
    }

    function pendingOracle(bytes32 requestId) external view returns (address) {
        return _pendingOracle(requestId);
    }

    function oracleAddress() external view returns (address) {
        return _oracleAddress();
    }

    function linkAddress() external view returns (address) {
        return _linkTokenAddress();
    }

    function receiveAnswer(bytes32 requestId, bytes32 value) external recordFulfillment(requestId) {
        emit Answer(requestId, value);
    }
}
