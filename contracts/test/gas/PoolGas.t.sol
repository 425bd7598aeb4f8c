// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {PoolDeployment} from "../staking/PoolDeployment.sol";
import {Vm} from "../utils/Vm.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {IERC677} from "../../src/token/IERC677.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";
import {Reputation} from "../../src/reputation/Reputation.sol";
import {MedianAggregator} from "../../src/aggregation/MedianAggregator.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";

/// @dev Cheatcodes these gas tests need beyond `test/utils/Vm.sol`.
interface PoolGasVm {
    function roll(uint256 newHeight) external;
    function cool(address target) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
}

/// Gas of serving the real SLA market as a staking-pool node (ADR 0006 decision 9: a bid goes
/// through `Node.bid`, commit / reveal through `Node.forward`) against serving it as a plain
/// oracle, and of settling a deposit with the pool. Read by scripts/contracts-gas.sh.
///
/// Method (the same as SlaGas.t.sol and StakingGas.t.sol): every figure is FULL TRANSACTION gas as
/// a receipt shows it, i.e. 21,000 (base) + calldata cost (16 gas per nonzero, 4 per zero byte of
/// the call's ABI-encoded input; EIP-2028, Cancun) + `vm.lastCallGas().gasTotalUsed` of the one
/// external call made from the test. The state each call starts from is built in `setUp` (a
/// separate transaction), and every measured call is also preceded by `vm.cool` on every contract
/// either path touches, so it is priced like the first call of a fresh transaction (cold accounts'
/// storage, clean SSTOREs). Each `test_gas_*` function makes exactly one measured call; the pool
/// and the plain-oracle figure of an operation start from the same state (same SLA, same round,
/// same number of earlier commits / reveals). The real `SlaMarket`, `Reputation` and
/// `MedianAggregator`, n = 7 oracles, 8-decimal prices around 2,000, 32-byte salts.
///
/// Keys:
///   staking.gas_pool_bid        operator: `Node.bid(node, market, deposit, bid(slaId))` — the
///                               node's first deposit (its bid books go from empty to one open bid)
///   staking.gas_direct_bid      plain oracle: `link.transferAndCall(market, deposit, bid(slaId))`
///   staking.gas_pool_commit     operator: `Node.forward(node, market, commit(...))`, first commit of the round
///   staking.gas_direct_commit   plain oracle: `market.commit(...)`, first commit of the round
///   staking.gas_pool_reveal     operator: `Node.forward(node, market, reveal(...))`, first reveal
///                               (does not end the round)
///   staking.gas_direct_reveal   plain oracle: `market.reveal(...)`, first reveal (does not end the round)
///   staking.gas_settle          operator: `Node.settleBid(node, bidId, 0)` after the deposit came back
///   staking.gas_settle_slash    operator: `Node.settleBid(node, bidId, deposit)` for a forfeited
///                               deposit (every staker's stake cut; no wipe)
/// The plain oracle's commit and reveal are measured in the same situation as SlaGas.t.sol's
/// `commit_reveal.gas_commit` / `gas_reveal` (n = 7, first commit / reveal) and give the same
/// figures. Absolute bounds are ~20-30 % above the measured figures (they catch gross regressions);
/// `test_poolOverhead_*` replay both paths of one operation from one state snapshot and bound the
/// difference more tightly (see the bounds' comments); they emit nothing.
abstract contract PoolGasBase is PoolDeployment {
    PoolGasVm internal constant gvm = PoolGasVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    uint96 internal constant DEPOSIT = 5 ether;
    uint96 internal constant PAY = 0.5 ether;
    uint8 internal constant ORACLES = 7;
    uint256 internal constant FEE_BPS = 1000;
    uint256 internal constant OWNERS_BPS = 1000;
    bytes32 internal constant JOB_TYPE = keccak256("price:ETH/USD");

    LinkToken internal link;
    SlaMarket internal market;
    Reputation internal reputation;
    MedianAggregator internal median;

    address internal poolOwner;
    address internal purchaser;
    address internal operator;
    /// @dev Two pool nodes run by `operator`: `node` answers, `silentNode` (settle tests) does not.
    address internal node;
    address internal silentNode;
    /// @dev The owners' pot (`registry.poolStorage()`, read by every distribution), cached.
    address internal poolStorage;
    /// @dev Plain oracles (EOAs).
    address[] internal plain;

    uint256 internal slaId;
    uint256 internal roundId;
    /// @dev The selected oracles of `slaId`, in index order (cached: no view call before a measured one).
    address[] internal selected;

    function setUp() public virtual {
        poolOwner = makeAddr("poolOwner");
        purchaser = makeAddr("purchaser");
        operator = makeAddr("operator");
        link = new LinkToken(address(this));
        market = new SlaMarket(address(link));
        reputation = new Reputation(address(this));
        reputation.setWriter(address(market), true);
        median = new MedianAggregator();

        _deployPool(address(link), poolOwner, 0, OWNERS_BPS);
        vm.startPrank(poolOwner);
        registry.addToWhitelist(address(market));
        node = factory.createNode(operator, false, FEE_BPS, 1_000_000 ether);
        silentNode = factory.createNode(operator, false, FEE_BPS, 1_000_000 ether);
        vm.stopPrank();
        poolStorage = registry.poolStorage();

        bytes memory stakePayload = pool.stakePayload();
        for (uint256 i = 0; i < 2; ++i) {
            address target = i == 0 ? node : silentNode;
            // Two stakers with uneven stakes per node.
            for (uint256 j = 0; j < 2; ++j) {
                address staker = address(uint160(0x5000 + 2 * i + j));
                uint256 amount = (j + 1) * 30 ether;
                link.transfer(staker, amount);
                vm.prank(staker);
                link.transferAndCall(target, amount, stakePayload);
            }
        }
        for (uint256 i = 0; i < ORACLES; ++i) {
            address oracle = address(uint160(0x7000 + i));
            plain.push(oracle);
            link.transfer(oracle, 100 ether);
        }
        link.transfer(purchaser, 1000 ether);
        vm.warp(1_000_000);
        gvm.roll(100);
    }

    // ------------------------------------------------------------------------------------------
    // Measuring
    // ------------------------------------------------------------------------------------------

    /// @dev Full transaction gas of the last call, whose calldata was `data`.
    function _txGas(bytes memory data) internal view returns (uint256 total) {
        Vm.Gas memory g = vm.lastCallGas();
        total = 21_000 + g.gasTotalUsed;
        for (uint256 i = 0; i < data.length; ++i) {
            total += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Every contract a bid, commit, reveal or settlement touches, on either path.
    function _coolAll() internal {
        gvm.cool(address(link));
        gvm.cool(address(market));
        gvm.cool(address(reputation));
        gvm.cool(address(median));
        gvm.cool(address(registry));
        gvm.cool(address(nodeLogic));
        gvm.cool(node);
        gvm.cool(silentNode);
        gvm.cool(poolStorage);
    }

    // ------------------------------------------------------------------------------------------
    // SLA life cycle (setup only)
    // ------------------------------------------------------------------------------------------

    function _propose() internal {
        ISlaMarket.SlaTerms memory t;
        t.specId = keccak256("orakel/spec/eth-usd");
        t.jobType = JOB_TYPE;
        t.params = hex"6470616972674554482f555344";
        t.oracles = ORACLES;
        t.minResponses = ORACLES / 2 + 1;
        t.minReputation = 1000;
        t.penaltyDeposit = DEPOSIT;
        t.paymentPerOracle = PAY;
        t.rounds = 1;
        t.biddingEnds = uint64(block.timestamp + 100);
        t.commitWindow = 60;
        t.revealWindow = 60;
        t.aggregator = address(median);
        t.reputation = address(reputation);
        vm.prank(purchaser);
        link.transferAndCall(address(market), uint256(ORACLES) * PAY, abi.encodeCall(ISlaMarket.propose, (t)));
        slaId = market.slaCount();
    }

    /// @dev The pool nodes in `nodes` bid first (oracle indexes 0, 1, ...), plain oracles fill the
    ///      remaining seats; bidding closes, the SLA is finalized and round 1 starts.
    function _activate(address[] memory nodes) internal {
        _propose();
        bytes memory bidCall = abi.encodeCall(ISlaMarket.bid, (slaId));
        for (uint256 i = 0; i < nodes.length; ++i) {
            vm.prank(operator);
            nodeLogic.bid(nodes[i], address(market), DEPOSIT, bidCall);
        }
        for (uint256 i = nodes.length; i < ORACLES; ++i) {
            vm.prank(plain[i]);
            link.transferAndCall(address(market), DEPOSIT, bidCall);
        }
        vm.warp(block.timestamp + 100);
        market.finalize(slaId);
        selected = market.oraclesOf(slaId);
        roundId = market.latestRoundOf(slaId);
        gvm.roll(block.number + 2);
        vm.warp(block.timestamp + 12);
    }

    function _answer(uint256 index) internal pure returns (int256) {
        return int256(2000e8 + index * 1e6);
    }

    function _salt(uint256 index) internal view returns (bytes32) {
        return keccak256(abi.encode("salt", roundId, index));
    }

    /// @dev `commitmentOf`, computed here so that no market call precedes a measured one.
    function _commitment(uint256 index) internal view returns (bytes32) {
        return keccak256(abi.encode(address(market), roundId, selected[index], _answer(index), _salt(index)));
    }

    function _commitCall(uint256 index) internal view returns (bytes memory) {
        return abi.encodeCall(ISlaMarket.commit, (roundId, index, _commitment(index)));
    }

    function _revealCall(uint256 index) internal view returns (bytes memory) {
        return abi.encodeCall(ISlaMarket.reveal, (roundId, index, _answer(index), _salt(index)));
    }

    /// @dev Oracle `index` commits (a pool node through `Node.forward`), not measured.
    function _commit(uint256 index) internal {
        address oracle = selected[index];
        if (registry.isNode(oracle)) {
            vm.prank(operator);
            nodeLogic.forward(oracle, address(market), _commitCall(index));
        } else {
            vm.prank(oracle);
            market.commit(roundId, index, _commitment(index));
        }
    }

    /// @dev Oracle `index` reveals (a pool node through `Node.forward`), not measured.
    function _reveal(uint256 index) internal {
        address oracle = selected[index];
        if (registry.isNode(oracle)) {
            vm.prank(operator);
            nodeLogic.forward(oracle, address(market), _revealCall(index));
        } else {
            vm.prank(oracle);
            market.reveal(roundId, index, _answer(index), _salt(index));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Measured calls (one per test function)
    // ------------------------------------------------------------------------------------------

    /// @dev `operator` has `node` call `market` with `inner` through `Node.forward`.
    function _measureForward(bytes memory inner) internal returns (uint256) {
        bytes memory data = abi.encodeCall(Node.forward, (node, address(market), inner));
        _coolAll();
        vm.prank(operator);
        nodeLogic.forward(node, address(market), inner);
        return _txGas(data);
    }

    function _measureSettle(address target, uint256 forfeited) internal returns (uint256) {
        bytes memory data = abi.encodeCall(Node.settleBid, (target, 1, forfeited));
        _coolAll();
        vm.prank(operator);
        nodeLogic.settleBid(target, 1, forfeited);
        return _txGas(data);
    }

    function _assertBelow(uint256 gas, uint256 bound_, string memory what) internal pure {
        assertLt(gas, bound_, what);
    }
}

/// Bids: the SLA is open for bids and nobody has bid yet.
contract PoolGasBidTest is PoolGasBase {
    /// @dev Pool overhead of a bid (measured 165,938): the node's bid books written from empty —
    ///      LOCKED, BID_COUNT, BID_AMOUNT, BID_OPEN, BID_TARGET: 5 fresh slots x 22,100 = 110,500 —
    ///      plus ~55,000 of cold accounts (registry, storage, LINK: it is not the transaction's `to`
    ///      here), cold slot reads (isNode, operator, five books, isLogic, three whitelist checks),
    ///      two events, the Node -> storage -> LINK calls with their ABI coding and 32 more
    ///      calldata bytes (the node). The bound 185,000 leaves ~19,000 for compiler drift but not
    ///      one more fresh storage slot per bid (22,100).
    uint256 internal constant BID_OVERHEAD_BOUND = 185_000;

    function setUp() public override {
        super.setUp();
        _propose();
    }

    function _measurePoolBid() internal returns (uint256 gas) {
        bytes memory bidCall = abi.encodeCall(ISlaMarket.bid, (slaId));
        bytes memory data = abi.encodeCall(Node.bid, (node, address(market), DEPOSIT, bidCall));
        _coolAll();
        vm.prank(operator);
        nodeLogic.bid(node, address(market), DEPOSIT, bidCall);
        gas = _txGas(data);
        assertEq(market.bidCountOf(slaId), 1, "pool node's bid placed");
    }

    function _measureDirectBid() internal returns (uint256 gas) {
        bytes memory bidCall = abi.encodeCall(ISlaMarket.bid, (slaId));
        bytes memory data = abi.encodeCall(IERC677.transferAndCall, (address(market), DEPOSIT, bidCall));
        _coolAll();
        vm.prank(plain[0]);
        link.transferAndCall(address(market), DEPOSIT, bidCall);
        gas = _txGas(data);
        assertEq(market.bidCountOf(slaId), 1, "plain oracle's bid placed");
    }

    function test_gas_poolBid() public {
        uint256 gas = _measurePoolBid();
        _assertBelow(gas, 360_000, "pool bid within bound");
        emit log_named_uint("staking.gas_pool_bid", gas);
    }

    function test_gas_directBid() public {
        uint256 gas = _measureDirectBid();
        _assertBelow(gas, 180_000, "direct bid within bound");
        emit log_named_uint("staking.gas_direct_bid", gas);
    }

    function test_poolOverhead_bid() public {
        uint256 id = gvm.snapshotState();
        uint256 direct = _measureDirectBid();
        gvm.revertToState(id);
        uint256 pooled = _measurePoolBid();
        assertGt(pooled, direct, "a pool bid costs more");
        _assertBelow(pooled - direct, BID_OVERHEAD_BOUND, "pool bid overhead within bound");
    }
}

/// Oracle calls forwarded by `Node.forward`: the overhead is the same for every forwarded call.
/// @dev Pool overhead of a forwarded call (measured 30,782, the same for commit and reveal): `Node`
///      resolves the node (registry `isNode`) and its operator, the storage checks that the caller is
///      a logic contract and the target a network contract (six cold slot reads at 2,100), three
///      cold accounts at 2,600 (registry, storage, and the market, which is not the transaction's
///      `to` here), the transient busy flag set and cleared, the `Forwarded` event, the inner call
///      copied as `bytes` and returned, and 160 more calldata bytes (node, target, offset, length,
///      padding). The bound 40,000 leaves ~9,000 for drift but not one storage write added per
///      forwarded call (a fresh slot is 22,100; even a nonzero-to-nonzero write of a cold slot, 5,000,
///      plus its event would be close).
abstract contract PoolGasRoundBase is PoolGasBase {
    uint256 internal constant FORWARD_OVERHEAD_BOUND = 40_000;
    /// @dev The plain oracle whose direct figure is compared with the pool node's (index 0).
    uint256 internal constant PLAIN_INDEX = 1;

    function setUp() public virtual override {
        super.setUp();
        address[] memory nodes = new address[](1);
        nodes[0] = node;
        _activate(nodes);
    }
}

/// Commits: round 1 has started and nobody has committed (the measured commit does not open reveals).
contract PoolGasCommitTest is PoolGasRoundBase {
    function _measurePoolCommit() internal returns (uint256 gas) {
        gas = _measureForward(_commitCall(0));
        assertEq(market.roundOf(roundId).commits, 1, "pool node committed");
    }

    function _measureDirectCommit() internal returns (uint256 gas) {
        address oracle = selected[PLAIN_INDEX];
        bytes32 c = _commitment(PLAIN_INDEX);
        bytes memory data = abi.encodeCall(ISlaMarket.commit, (roundId, PLAIN_INDEX, c));
        _coolAll();
        vm.prank(oracle);
        market.commit(roundId, PLAIN_INDEX, c);
        gas = _txGas(data);
        assertEq(market.roundOf(roundId).commits, 1, "plain oracle committed");
    }

    function test_gas_poolCommit() public {
        uint256 gas = _measurePoolCommit();
        _assertBelow(gas, 110_000, "pool commit within bound");
        emit log_named_uint("staking.gas_pool_commit", gas);
    }

    function test_gas_directCommit() public {
        uint256 gas = _measureDirectCommit();
        _assertBelow(gas, 70_000, "direct commit within bound");
        emit log_named_uint("staking.gas_direct_commit", gas);
    }

    function test_poolOverhead_commit() public {
        uint256 id = gvm.snapshotState();
        uint256 direct = _measureDirectCommit();
        gvm.revertToState(id);
        uint256 pooled = _measurePoolCommit();
        assertGt(pooled, direct, "a forwarded commit costs more");
        _assertBelow(pooled - direct, FORWARD_OVERHEAD_BOUND, "forwarded commit overhead within bound");
    }
}

/// Reveals: every oracle committed (reveals open), nobody has revealed (the measured reveal does not end the round).
contract PoolGasRevealTest is PoolGasRoundBase {
    function setUp() public override {
        super.setUp();
        for (uint256 i = 0; i < ORACLES; ++i) {
            _commit(i);
        }
        assertTrue(market.roundOf(roundId).revealOpen, "reveals open");
    }

    function _measurePoolReveal() internal returns (uint256 gas) {
        gas = _measureForward(_revealCall(0));
        _assertRoundGoesOn();
    }

    function _measureDirectReveal() internal returns (uint256 gas) {
        address oracle = selected[PLAIN_INDEX];
        int256 answer = _answer(PLAIN_INDEX);
        bytes32 salt = _salt(PLAIN_INDEX);
        bytes memory data = abi.encodeCall(ISlaMarket.reveal, (roundId, PLAIN_INDEX, answer, salt));
        _coolAll();
        vm.prank(oracle);
        market.reveal(roundId, PLAIN_INDEX, answer, salt);
        gas = _txGas(data);
        _assertRoundGoesOn();
    }

    function _assertRoundGoesOn() internal view {
        ISlaMarket.RoundView memory r = market.roundOf(roundId);
        assertEq(r.reveals, 1, "one reveal");
        assertEq(uint256(r.status), uint256(ISlaMarket.RoundStatus.Open), "round not ended");
    }

    function test_gas_poolReveal() public {
        uint256 gas = _measurePoolReveal();
        _assertBelow(gas, 90_000, "pool reveal within bound");
        emit log_named_uint("staking.gas_pool_reveal", gas);
    }

    function test_gas_directReveal() public {
        uint256 gas = _measureDirectReveal();
        _assertBelow(gas, 50_000, "direct reveal within bound");
        emit log_named_uint("staking.gas_direct_reveal", gas);
    }

    function test_poolOverhead_reveal() public {
        uint256 id = gvm.snapshotState();
        uint256 direct = _measureDirectReveal();
        gvm.revertToState(id);
        uint256 pooled = _measurePoolReveal();
        assertGt(pooled, direct, "a forwarded reveal costs more");
        _assertBelow(pooled - direct, FORWARD_OVERHEAD_BOUND, "forwarded reveal overhead within bound");
    }
}

/// Settlement: `node` (index 0) answered and collected its credit (deposit + payment, not yet
/// distributed); `silentNode` (index 1) committed, never revealed and was slashed at `closeRound`.
/// Both deposits are still open in the pool's books.
contract PoolGasSettleTest is PoolGasBase {
    function setUp() public override {
        super.setUp();
        address[] memory nodes = new address[](2);
        nodes[0] = node;
        nodes[1] = silentNode;
        _activate(nodes);
        for (uint256 i = 0; i < ORACLES; ++i) {
            _commit(i);
        }
        for (uint256 i = 0; i < ORACLES; ++i) {
            if (i != 1) _reveal(i);
        }
        vm.warp(uint256(market.roundOf(roundId).revealDeadline) + 1);
        market.closeRound(roundId);
        vm.prank(operator);
        nodeLogic.forward(node, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        assertEq(market.withdrawable(silentNode), 0, "silent node forfeited its deposit");
    }

    function test_gas_settle() public {
        uint256 gas = _measureSettle(node, 0);
        LinkPool.NodeInfo memory info = pool.nodeInfo(node);
        assertEq(info.locked, 0, "deposit settled");
        assertEq(info.totalSlashed, 0, "nothing slashed");
        _assertBelow(gas, 120_000, "settle within bound");
        emit log_named_uint("staking.gas_settle", gas);
    }

    function test_gas_settleSlash() public {
        uint256 gas = _measureSettle(silentNode, DEPOSIT);
        LinkPool.NodeInfo memory info = pool.nodeInfo(silentNode);
        assertEq(info.locked, 0, "deposit settled");
        assertEq(info.totalSlashed, DEPOSIT, "deposit slashed from the stake");
        assertEq(info.totalStaked, 90 ether - DEPOSIT, "stake cut");
        _assertBelow(gas, 150_000, "settle with a slash within bound");
        emit log_named_uint("staking.gas_settle_slash", gas);
    }
}
