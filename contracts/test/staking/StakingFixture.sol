// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {PoolDeployment} from "./PoolDeployment.sol";
import {StakingVm, STAKING_VM_ADDRESS} from "./StakingVm.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {PoolRegistry} from "../../src/staking/PoolRegistry.sol";
import {Node} from "../../src/staking/Node.sol";
import {MockMarket} from "./mocks/MockMarket.sol";

/// @dev A pool with one public node (`node`, 10 % operator fee, 10 % owners' share, limit
///      1,000,000 LINK), the pool owner owning all owner units, and a whitelisted mock market.
abstract contract StakingFixture is PoolDeployment {
    StakingVm internal constant svm = StakingVm(STAKING_VM_ADDRESS);
    /// @dev The stake payload: abi.encodeWithSignature("stake()").
    bytes internal STAKE = abi.encodeWithSignature("stake()");

    uint256 internal constant FEE_BPS = 1000;
    uint256 internal constant OWNERS_BPS = 1000;
    uint256 internal constant LIMIT = 1_000_000 ether;

    address internal poolOwner;
    address internal operator;
    address internal alice;
    address internal bob;
    address internal carol;
    address internal outsider;

    LinkToken internal link;
    MockMarket internal market;
    address internal node;

    function setUp() public virtual {
        poolOwner = makeAddr("poolOwner");
        operator = makeAddr("operator");
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = makeAddr("carol");
        outsider = makeAddr("outsider");
        link = new LinkToken(address(this));
        _deployPool(address(link), poolOwner, _changeDelay(), OWNERS_BPS);
        market = new MockMarket(link);
        vm.startPrank(poolOwner);
        registry.addToWhitelist(address(market));
        node = factory.createNode(operator, false, FEE_BPS, LIMIT);
        vm.stopPrank();
        link.transfer(address(market), 1_000_000 ether);
        vm.label(address(link), "LINK");
        vm.label(address(registry), "PoolRegistry");
        vm.label(address(nodeLogic), "Node");
        vm.label(address(market), "MockMarket");
        vm.label(node, "node");
    }

    function _changeDelay() internal pure virtual returns (uint256) {
        return 0;
    }

    function _stake(address staker, uint256 amount) internal {
        _stakeOn(node, staker, amount);
    }

    function _stakeOn(address target, address staker, uint256 amount) internal {
        link.transfer(staker, amount);
        vm.prank(staker);
        link.transferAndCall(target, amount, STAKE);
    }

    /// @dev A payment from the network arriving as a plain transfer.
    function _income(uint256 amount) internal {
        link.transfer(node, amount);
    }

    function _distribute() internal returns (uint256) {
        return nodeLogic.distribute(node);
    }

    /// @dev Stakers' part of `profit` (after operator fee and owners' share, both rounded down).
    function _stakersPart(uint256 profit) internal pure returns (uint256) {
        return profit - profit * FEE_BPS / 10_000 - profit * OWNERS_BPS / 10_000;
    }

    function _absDiff(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }
}
