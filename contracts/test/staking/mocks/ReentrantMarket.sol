// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../../../src/token/IERC677.sol";
import {MockMarket} from "./MockMarket.sol";
import {Node} from "../../../src/staking/Node.sol";
import {PoolStorage} from "../../../src/staking/PoolStorage.sol";

/// @dev A whitelisted network contract gone bad: when a node's bid (ERC-677 callback) or a
///      forwarded call reaches it, it tries to re-enter the pool and records what got through.
contract ReentrantMarket is MockMarket {
    Node public nodeLogic;
    address public node;
    uint256 public attempts;
    uint256 public successes;
    bool[] public results;
    bytes4[] public revertSelectors;

    constructor(IERC677 link_) MockMarket(link_) {}

    function arm(Node nodeLogic_, address node_) external {
        nodeLogic = nodeLogic_;
        node = node_;
    }

    /// @dev Stakes on `node` as this contract (so it has something to withdraw).
    function stakeOn(address node_, uint256 amount) external {
        link.transferAndCall(node_, amount, abi.encodeWithSelector(bytes4(keccak256("stake()"))));
    }

    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external override {
        _attack(value);
        this.recordBid(sender, value, data);
    }

    /// @dev The parent's bookkeeping (external so the `msg.sender == link` check is skipped deliberately).
    function recordBid(address sender, uint256 value, bytes calldata data) external {
        require(msg.sender == address(this), "self only");
        uint256 slaId = abi.decode(data[4:], (uint256));
        deposits[sender] += value;
        s_bidders[slaId].push(sender);
    }

    function commit(uint256, uint256, bytes32) external override {
        _attack(1);
    }

    function _attack(uint256 value) private {
        if (address(nodeLogic) == address(0)) return;
        _try(address(nodeLogic), abi.encodeCall(Node.withdraw, (node, 1)));
        _try(address(nodeLogic), abi.encodeCall(Node.withdrawAll, (node)));
        _try(address(nodeLogic), abi.encodeCall(Node.distribute, (node)));
        _try(address(nodeLogic), abi.encodeCall(Node.claimRewards, (node)));
        _try(address(nodeLogic), abi.encodeCall(Node.restake, (node)));
        _try(
            address(link),
            abi.encodeCall(IERC677.transferAndCall, (node, value, abi.encodeWithSelector(bytes4(keccak256("stake()")))))
        );
        _try(node, abi.encodeCall(PoolStorage.transferLink, (address(this), 1)));
        _try(node, abi.encodeCall(PoolStorage.setUint, (bytes32(0), 1)));
    }

    function _try(address target, bytes memory data) private {
        ++attempts;
        (bool ok, bytes memory ret) = target.call(data);
        if (ok) ++successes;
        results.push(ok);
        revertSelectors.push(ok ? bytes4(0) : bytes4(ret));
    }

    function revertCount() external view returns (uint256) {
        return revertSelectors.length;
    }
}
