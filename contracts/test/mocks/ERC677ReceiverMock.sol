// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677Receiver} from "../../src/token/IERC677Receiver.sol";

/// @dev Records the last `onTokenTransfer` call.
contract ERC677ReceiverMock is IERC677Receiver {
    address public lastSender;
    uint256 public lastValue;
    bytes public lastData;
    uint256 public calls;

    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external {
        lastSender = sender;
        lastValue = value;
        lastData = data;
        calls += 1;
    }
}

/// @dev A contract without `onTokenTransfer`.
contract NotAReceiver {}
