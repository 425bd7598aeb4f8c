// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../../../src/token/IERC677.sol";
import {IERC677Receiver} from "../../../src/token/IERC677Receiver.sol";
import {Node} from "../../../src/staking/Node.sol";
import {PoolStorage} from "../../../src/staking/PoolStorage.sol";

/// @dev A staker contract that re-enters the pool whenever it can: from its ERC-677 hook (if the
///      pool ever paid it with `transferAndCall`) and by nesting a second stake inside a stake.
contract HookedStaker is IERC677Receiver {
    IERC677 public immutable link;
    Node public immutable nodeLogic;
    address public immutable node;
    uint256 public hookCalls;
    bool public nestedSucceeded;

    constructor(IERC677 link_, Node nodeLogic_, address node_) {
        link = link_;
        nodeLogic = nodeLogic_;
        node = node_;
    }

    function stake(uint256 amount) external {
        link.transferAndCall(node, amount, abi.encodeWithSelector(bytes4(keccak256("stake()"))));
    }

    function withdraw(uint256 amount) external {
        nodeLogic.withdraw(node, amount);
    }

    function withdrawAll() external {
        nodeLogic.withdrawAll(node);
    }

    function onTokenTransfer(address, uint256, bytes calldata) external {
        ++hookCalls;
        // Would withdraw again while being paid.
        try nodeLogic.withdraw(node, 1) {
            nestedSucceeded = true;
        } catch {}
    }
}
