// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @dev A callback target that records how much gas it was given.
contract GasRecordingConsumer {
    uint256 public gasAtCallback;
    bytes32 public lastRequestId;

    event Called(bytes32 requestId, uint256 gasAtCallback);

    function callback(bytes32 requestId, uint256) external {
        gasAtCallback = gasleft();
        lastRequestId = requestId;
        emit Called(requestId, gasAtCallback);
    }
}
