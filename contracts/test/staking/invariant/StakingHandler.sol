// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../../utils/Test.sol";
import {LinkToken} from "../../../src/token/LinkToken.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PoolRegistry} from "../../../src/staking/PoolRegistry.sol";
import {PoolStorage} from "../../../src/staking/PoolStorage.sol";
import {LinkPool} from "../../../src/staking/LinkPool.sol";
import {Node} from "../../../src/staking/Node.sol";
import {PoolOwners} from "../../../src/staking/PoolOwners.sol";
import {ISlaMarket} from "../../../src/market/ISlaMarket.sol";
import {MockMarket} from "../mocks/MockMarket.sol";

/// @dev Drives one node with random stakes, exits, claims, restakes, payments, distributions,
///      bids, forfeits, fee changes, owner actions, time warps and theft attempts, keeping
///      ghost books of what went in and out.
contract StakingHandler is Test {
    LinkToken public immutable link;
    PoolRegistry public immutable registry;
    LinkPool public immutable pool;
    Node public immutable nodeLogic;
    PoolOwners public immutable owners;
    MockMarket public immutable market;
    MockMarket public immutable decoy; // a contract that is NOT whitelisted
    address public immutable node;
    address public immutable operator;
    address public immutable poolOwner;
    address public immutable attacker;

    address[] public actors;
    uint256[] internal s_openBids;

    uint256 public ghostIncome; // LINK sent to the node as payments / donations
    uint256 public ghostSlashed;
    uint256 public ghostClaimed; // rewards paid to stakers
    uint256 public ghostBreaches; // theft attempts that went through
    uint256 public ghostWipes;
    mapping(bytes4 => uint256) public calls;

    constructor(
        LinkToken link_,
        PoolRegistry registry_,
        LinkPool pool_,
        Node nodeLogic_,
        PoolOwners owners_,
        MockMarket market_,
        MockMarket decoy_,
        address node_,
        address operator_,
        address poolOwner_
    ) {
        link = link_;
        registry = registry_;
        pool = pool_;
        nodeLogic = nodeLogic_;
        owners = owners_;
        market = market_;
        decoy = decoy_;
        node = node_;
        operator = operator_;
        poolOwner = poolOwner_;
        attacker = makeAddr("attacker");
        for (uint256 i = 0; i < 4; ++i) {
            actors.push(makeAddr(string(abi.encodePacked("staker", bytes1(uint8(48 + i))))));
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    modifier tick(uint256 seed) {
        calls[msg.sig]++;
        vm.warp(block.timestamp + (seed % 1 days));
        _;
    }

    // ------------------------------------------------------------------ stakers

    function stake(uint256 actorSeed, uint256 amount) external tick(actorSeed) {
        address a = _actor(actorSeed);
        amount = bound(amount, 1, 1000 ether);
        link.transfer(a, amount);
        vm.prank(a);
        try link.transferAndCall(node, amount, abi.encodeWithSignature("stake()")) {}
        catch {
            vm.prank(a);
            link.transfer(address(this), amount);
        }
    }

    function withdraw(uint256 actorSeed, uint256 amount) external tick(actorSeed) {
        address a = _actor(actorSeed);
        uint256 available = pool.stakeOf(node, a);
        if (available == 0) return;
        amount = bound(amount, 1, available);
        vm.prank(a);
        try nodeLogic.withdraw(node, amount) {} catch {}
    }

    function withdrawAll(uint256 actorSeed) external tick(actorSeed) {
        address a = _actor(actorSeed);
        uint256 rewards = pool.rewardsOf(node, a);
        vm.prank(a);
        try nodeLogic.withdrawAll(node) {
            ghostClaimed += rewards;
        } catch {}
    }

    function claim(uint256 actorSeed) external tick(actorSeed) {
        address a = _actor(actorSeed);
        vm.prank(a);
        try nodeLogic.claimRewards(node) returns (uint256 got) {
            ghostClaimed += got;
        } catch {}
    }

    function restake(uint256 actorSeed) external tick(actorSeed) {
        vm.prank(_actor(actorSeed));
        try nodeLogic.restake(node) {} catch {}
    }

    // ------------------------------------------------------------------ income and distribution

    function income(uint256 amount, uint8 how) external tick(amount) {
        amount = bound(amount, 0, 200 ether);
        if (how % 3 == 0) {
            link.transfer(node, amount);
        } else if (how % 3 == 1) {
            link.transferAndCall(node, amount, "");
        } else {
            // A market payment pulled by the node.
            link.transfer(address(market), amount);
            market.pay(node, amount);
            market.setPayWithCallback(how % 2 == 0);
            vm.prank(operator);
            nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        }
        ghostIncome += amount;
    }

    function distribute(uint256 seed) external tick(seed) {
        nodeLogic.distribute(node);
    }

    // ------------------------------------------------------------------ penalty deposits

    function bid(uint256 amount) external tick(amount) {
        uint256 owed = pool.owedOf(node);
        uint256 balance = link.balanceOf(node);
        if (balance <= owed) return;
        amount = bound(amount, 1, balance - owed);
        vm.prank(operator);
        uint256 id = nodeLogic.bid(node, address(market), amount, abi.encodeCall(ISlaMarket.bid, (1)));
        s_openBids.push(id);
    }

    function settle(uint256 index, uint256 forfeitBps) external tick(index) {
        if (s_openBids.length == 0) return;
        index = index % s_openBids.length;
        uint256 id = s_openBids[index];
        (uint256 amount,,) = pool.bidOf(node, id);
        uint256 forfeited = amount * bound(forfeitBps, 0, 10_000) / 10_000;
        if (forfeitBps % 3 == 0) forfeited = 0; // most deposits come back
        if (forfeited != 0) market.forfeit(node, forfeited);
        market.release(node, amount - forfeited);
        vm.startPrank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        uint256 epochBefore = pool.nodeInfo(node).epoch;
        nodeLogic.settleBid(node, id, forfeited);
        vm.stopPrank();
        if (pool.nodeInfo(node).epoch != epochBefore) ghostWipes++;
        ghostSlashed += forfeited;
        s_openBids[index] = s_openBids[s_openBids.length - 1];
        s_openBids.pop();
    }

    // ------------------------------------------------------------------ operator and owners

    function operatorFees(uint256 seed) external tick(seed) {
        vm.prank(operator);
        try nodeLogic.withdrawOperatorFees(node) {} catch {}
    }

    function setFee(uint256 bps) external tick(bps) {
        vm.prank(operator);
        nodeLogic.setOperatorFee(node, bound(bps, 0, 5000));
    }

    function toggleEnabled(uint256 seed) external tick(seed) {
        vm.prank(operator);
        nodeLogic.setEnabled(node, seed % 4 != 0);
    }

    function ownersCollectAndWithdraw(uint256 seed) external tick(seed) {
        owners.collect(node);
        vm.prank(poolOwner);
        try owners.withdraw() {} catch {}
    }

    // ------------------------------------------------------------------ theft attempts

    /// Every path that could move the node's LINK to a non-whitelisted address, tried by the
    /// attacker, the operator and the pool owner. Any success is a breach.
    function steal(uint256 seed, uint256 amount) external tick(seed) {
        amount = bound(amount, 1, 1000 ether);
        address[3] memory who = [attacker, operator, poolOwner];
        address caller = who[seed % 3];
        address to = seed % 2 == 0 ? caller : address(decoy);
        bytes memory transferData = abi.encodeCall(IERC20.transfer, (to, amount));
        _expectFail(caller, node, abi.encodeCall(PoolStorage.transferLink, (to, amount)));
        _expectFail(caller, node, abi.encodeCall(PoolStorage.bid, (address(decoy), amount, "")));
        _expectFail(caller, node, abi.encodeCall(PoolStorage.forward, (address(link), transferData)));
        _expectFail(caller, address(nodeLogic), abi.encodeCall(Node.forward, (node, address(link), transferData)));
        _expectFail(caller, address(nodeLogic), abi.encodeCall(Node.forward, (node, address(decoy), "")));
        _expectFail(caller, address(nodeLogic), abi.encodeCall(Node.bid, (node, address(decoy), amount, "")));
        _expectFail(caller, address(nodeLogic), abi.encodeCall(Node.bid, (node, to, amount, "")));
        _expectFail(caller, address(nodeLogic), abi.encodeCall(Node.withdraw, (node, amount)));
        _expectFail(caller, address(registry), abi.encodeCall(PoolRegistry.addToWhitelist, (address(link))));
        // (Whitelisting a contract is the pool owner's governance power, behind the registry's
        // change delay; whitelisting an account or the token is refused.)
        _expectFail(caller, address(registry), abi.encodeCall(PoolRegistry.addToWhitelist, (caller)));
    }

    function _expectFail(address caller, address target, bytes memory data) internal {
        vm.prank(caller);
        (bool ok,) = target.call(data);
        if (ok) ghostBreaches++;
    }

    function warp(uint256 secs) external {
        calls[msg.sig]++;
        vm.warp(block.timestamp + bound(secs, 0, 60 days));
    }
}
