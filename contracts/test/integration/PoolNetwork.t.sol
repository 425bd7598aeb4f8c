// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {PoolDeployment} from "../staking/PoolDeployment.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";
import {Reputation} from "../../src/reputation/Reputation.sol";
import {MedianAggregator} from "../../src/aggregation/MedianAggregator.sol";
import {PoolRegistry} from "../../src/staking/PoolRegistry.sol";
import {PoolStorage} from "../../src/staking/PoolStorage.sol";
import {PoolKeys} from "../../src/staking/PoolKeys.sol";
import {LinkPool} from "../../src/staking/LinkPool.sol";
import {Node} from "../../src/staking/Node.sol";
import {NodeFactory} from "../../src/staking/NodeFactory.sol";
import {NodeStaking} from "../../src/staking/NodeStaking.sol";
import {PoolOwners} from "../../src/staking/PoolOwners.sol";

/// @title Staking-pool nodes serving an SLA on the real market (ADR 0005 + ADR 0006).
/// @notice The real contracts together: LINK, `SlaMarket`, `Reputation`, `MedianAggregator` and the
///         whole staking pool (`PoolRegistry`, `LinkPool`, `Node`, `NodeFactory`, `NodeStaking`,
///         `PoolOwners`), with the market whitelisted in the registry.
///
///         Cast:
///         - pool node A (honest): stakers A1 = 30 LINK and A2 = 12 LINK, operator fee 10 %;
///         - pool node B (dishonest): stakers B1 = 25 LINK and B2 = 14 LINK, operator fee 10 %;
///         - one plain oracle (an EOA bidding and answering for itself);
///         - a purchaser asking for 3 oracles, 1 round, 1 LINK per accepted answer, 20 LINK
///           penalty deposit, median of at least 2 answers; the owners take 5 % of every node's profit.
///
///         The operators act only through the `Node` logic: `Node.bid` sends the node's deposit
///         with a `bid(slaId)` payload, `Node.forward` sends commit / reveal / withdraw as the node
///         (its `PoolStorage` address is the oracle the market sees). A commits and reveals; B
///         commits, tries to open its commitment with a salt it does not have (the market refuses)
///         and never reveals, so `closeRound` after the reveal deadline slashes it (ADR 0005
///         decision 4). Then A collects its credit (`withdraw`, forwarded) and settles its deposit
///         with nothing forfeited, anyone distributes A's profit; B has nothing to collect and
///         settles its deposit as wholly forfeited.
///
///         Outcome checked to the juel: A's stakers share `PAY * (1 - fee - owners' share)` by
///         stake (the reward-per-share accumulator rounds down: each staker is at most 1 juel
///         below the exact proportional split), A's stakes are unchanged; B's stakes each lose the
///         same fraction `DEPOSIT / 39 LINK` (rounded down to the juel), B's `totalSlashed` is the
///         deposit, the purchaser is compensated with B's deposit; LINK is conserved across every
///         account and nobody ends up holding what the ADRs do not give it.
contract PoolNetworkTest is PoolDeployment {
    uint96 internal constant DEPOSIT = 20 ether;
    uint96 internal constant PAY = 1 ether;
    uint256 internal constant FEE_BPS = 1000;
    uint256 internal constant OWNERS_BPS = 500;
    uint256 internal constant LIMIT = 1000 ether;
    bytes32 internal constant JOB_TYPE = keccak256("price:ETH/USD");

    uint256 internal constant STAKE_A1 = 30 ether;
    uint256 internal constant STAKE_A2 = 12 ether;
    uint256 internal constant STAKE_B1 = 25 ether;
    uint256 internal constant STAKE_B2 = 14 ether;
    uint256 internal constant FUNDS = 100 ether;

    int256 internal constant ANSWER_A = 2000e8;
    int256 internal constant ANSWER_PLAIN = 2001e8;
    int256 internal constant ANSWER_B = 1999e8;

    // Selection order: every bidder is a newcomer (score 5,000), so bid order is rank order.
    uint256 internal constant INDEX_A = 0;
    uint256 internal constant INDEX_B = 1;
    uint256 internal constant INDEX_PLAIN = 2;

    LinkToken internal link;
    SlaMarket internal market;
    SlaMarket internal rogueMarket;
    Reputation internal reputation;
    MedianAggregator internal median;

    address internal poolOwner;
    address internal operatorA;
    address internal operatorB;
    address internal stakerA1;
    address internal stakerA2;
    address internal stakerB1;
    address internal stakerB2;
    address internal plainOracle;
    address internal purchaser;
    address internal stranger;
    address internal nodeA;
    address internal nodeB;

    function setUp() public {
        poolOwner = makeAddr("poolOwner");
        operatorA = makeAddr("operatorA");
        operatorB = makeAddr("operatorB");
        stakerA1 = makeAddr("stakerA1");
        stakerA2 = makeAddr("stakerA2");
        stakerB1 = makeAddr("stakerB1");
        stakerB2 = makeAddr("stakerB2");
        plainOracle = makeAddr("plainOracle");
        purchaser = makeAddr("purchaser");
        stranger = makeAddr("stranger");

        link = new LinkToken(address(this));
        market = new SlaMarket(address(link));
        rogueMarket = new SlaMarket(address(link));
        reputation = new Reputation(address(this));
        reputation.setWriter(address(market), true);
        median = new MedianAggregator();

        _deployPool(address(link), poolOwner, 0, OWNERS_BPS);
        vm.startPrank(poolOwner);
        registry.addToWhitelist(address(market));
        nodeA = factory.createNode(operatorA, false, FEE_BPS, LIMIT);
        nodeB = factory.createNode(operatorB, false, FEE_BPS, LIMIT);
        vm.stopPrank();

        _stake(nodeA, stakerA1, STAKE_A1);
        _stake(nodeA, stakerA2, STAKE_A2);
        _stake(nodeB, stakerB1, STAKE_B1);
        _stake(nodeB, stakerB2, STAKE_B2);
        link.transfer(plainOracle, FUNDS);
        link.transfer(purchaser, FUNDS);

        vm.label(address(link), "LINK");
        vm.label(address(market), "SlaMarket");
        vm.label(address(rogueMarket), "rogueMarket");
        vm.label(address(registry), "PoolRegistry");
        vm.label(address(nodeLogic), "Node");
        vm.label(nodeA, "nodeA");
        vm.label(nodeB, "nodeB");
        vm.warp(1_700_000_000);
    }

    // ------------------------------------------------------------------------------------------
    // The scenario
    // ------------------------------------------------------------------------------------------

    function test_honestPoolNodePaysItsStakers_slashedPoolNodeCostsItsStakers() public {
        (uint256 slaId, uint256 roundId) = _openSla();
        address[] memory oracles = market.oraclesOf(slaId);
        assertEq(oracles.length, 3, "three oracles");
        assertEq(oracles[INDEX_A], nodeA, "node A's storage is oracle 0");
        assertEq(oracles[INDEX_B], nodeB, "node B's storage is oracle 1");
        assertEq(oracles[INDEX_PLAIN], plainOracle, "the plain oracle is oracle 2");
        assertTrue(market.isSelected(slaId, nodeA) && market.isSelected(slaId, nodeB), "storages selected");
        _assertBid(nodeA, 1, true);
        _assertBid(nodeB, 1, true);
        assertEq(pool.nodeInfo(nodeA).locked, DEPOSIT, "A: deposit locked");
        assertEq(pool.nodeInfo(nodeB).locked, DEPOSIT, "B: deposit locked");
        assertEq(link.balanceOf(nodeA), STAKE_A1 + STAKE_A2 - DEPOSIT, "A: deposit left the node");

        _commitAll(roundId);
        assertTrue(market.roundOf(roundId).revealOpen, "all committed: reveals open");
        // B cannot open its commitment without the salt it committed with (ADR 0005 decision 4).
        vm.prank(operatorB);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.CommitmentMismatch.selector, roundId, INDEX_B));
        nodeLogic.forward(
            nodeB,
            address(market),
            abi.encodeCall(ISlaMarket.reveal, (roundId, INDEX_B, ANSWER_B, keccak256("a salt B never used")))
        );
        _revealHonest(roundId);
        _close(roundId);

        ISlaMarket.RoundView memory r = market.roundOf(roundId);
        assertEq(uint256(r.status), uint256(ISlaMarket.RoundStatus.Answered), "answered");
        assertEq(r.answer, (ANSWER_A + ANSWER_PLAIN) / 2, "median of A and the plain oracle");
        (, ISlaMarket.SlaStatus status,) = market.slaOf(slaId);
        assertEq(uint256(status), uint256(ISlaMarket.SlaStatus.Ended), "one-round SLA ended");
        assertEq(market.withdrawable(nodeA), DEPOSIT + PAY, "A: deposit back + payment");
        assertEq(market.withdrawable(nodeB), 0, "B: deposit forfeited, unpaid");
        assertEq(market.withdrawable(plainOracle), DEPOSIT + PAY, "plain: deposit back + payment");
        assertEq(market.withdrawable(purchaser), DEPOSIT + PAY, "purchaser: B's deposit + B's unspent payment");
        assertEq(uint256(reputation.recordOf(nodeB, bytes32(0)).penalties), DEPOSIT, "B's penalty on record");

        // A: collect, settle (nothing forfeited), anyone distributes.
        vm.prank(operatorA);
        nodeLogic.forward(nodeA, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        vm.prank(operatorA);
        nodeLogic.settleBid(nodeA, 1, 0);
        vm.prank(stranger);
        uint256 profit = nodeLogic.distribute(nodeA);
        assertEq(profit, PAY, "A's profit is the payment");

        // B: nothing to collect (the market refuses an empty withdrawal), settle the whole deposit.
        assertEq(market.withdrawable(nodeB), 0, "B: nothing to withdraw");
        vm.prank(operatorB);
        vm.expectRevert(SlaMarket.NothingToWithdraw.selector);
        nodeLogic.forward(nodeB, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        vm.prank(operatorB);
        nodeLogic.settleBid(nodeB, 1, DEPOSIT);
        _assertBid(nodeA, 1, false);
        _assertBid(nodeB, 1, false);

        _assertHonestNodeBooks();
        _assertSlashedNodeBooks();

        _everyoneTakesWhatIsTheirs();
    }

    // ------------------------------------------------------------------------------------------
    // What an operator (or anyone else) cannot do
    // ------------------------------------------------------------------------------------------

    /// A deposit carries only a bid (ADR 0006 decision 7): a `propose` payload to the real market
    /// would spend stake as a purchaser.
    function test_nodeBid_refusesAProposePayload() public {
        ISlaMarket.SlaTerms memory t = _terms();
        bytes memory propose = abi.encodeCall(ISlaMarket.propose, (t));
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(Node.UnsupportedBidPayload.selector, ISlaMarket.propose.selector));
        nodeLogic.bid(nodeA, address(market), 3 * PAY, propose);
        // A bid selector with trailing bytes is refused too (exactly `bid(uint256)`).
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(Node.UnsupportedBidPayload.selector, ISlaMarket.bid.selector));
        nodeLogic.bid(nodeA, address(market), DEPOSIT, abi.encodePacked(abi.encodeCall(ISlaMarket.bid, (1)), uint8(0)));
        assertEq(link.balanceOf(nodeA), STAKE_A1 + STAKE_A2, "nothing left the node");
        assertEq(market.slaCount(), 0, "no SLA proposed");
    }

    /// Deposits and forwarded calls reach only whitelisted network contracts; never the LINK token.
    function test_nodeCallsOnlyReachWhitelistedContracts() public {
        (uint256 slaId,) = _openSla();
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(rogueMarket)));
        nodeLogic.forward(nodeA, address(rogueMarket), abi.encodeCall(ISlaMarket.withdraw, ()));
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(rogueMarket)));
        nodeLogic.bid(nodeA, address(rogueMarket), 1 ether, abi.encodeCall(ISlaMarket.bid, (slaId)));
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(link)));
        nodeLogic.forward(nodeA, address(link), abi.encodeCall(IERC20.transfer, (operatorA, 1 ether)));
        // Removing the market from the whitelist cuts the node off at once.
        vm.prank(poolOwner);
        registry.removeFromWhitelist(address(market));
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotNetworkContract.selector, address(market)));
        nodeLogic.forward(nodeA, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
    }

    /// Only a node's own operator bids and forwards for it (the pool owner may settle, nobody else).
    function test_strangersCannotActForANode() public {
        (uint256 slaId, uint256 roundId) = _openSla();
        bytes32 c = market.commitmentOf(roundId, nodeA, ANSWER_A, _salt(nodeA));
        bytes memory commitCall = abi.encodeCall(ISlaMarket.commit, (roundId, INDEX_A, c));

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, stranger));
        nodeLogic.forward(nodeA, address(market), commitCall);
        vm.prank(operatorB);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, operatorB));
        nodeLogic.forward(nodeA, address(market), commitCall);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperator.selector, stranger));
        nodeLogic.bid(nodeA, address(market), DEPOSIT, abi.encodeCall(ISlaMarket.bid, (slaId)));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Node.NotOperatorOrOwner.selector, stranger));
        nodeLogic.settleBid(nodeA, 1, DEPOSIT);
        // Nor by calling the node's storage directly.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(PoolStorage.NotLogic.selector, stranger));
        PoolStorage(nodeA).forward(address(market), commitCall);
        // And the operator is nobody in the market: the node's oracle seat is the storage's.
        vm.prank(operatorA);
        vm.expectRevert(abi.encodeWithSelector(SlaMarket.NotRoundOracle.selector, roundId, INDEX_A, operatorA));
        market.commit(roundId, INDEX_A, c);

        vm.prank(operatorA);
        nodeLogic.forward(nodeA, address(market), commitCall);
        assertEq(market.roundOf(roundId).commits, 1, "the operator's forwarded commit counts");
    }

    /// Stake backing an open deposit cannot leave (no exit just before a slash); after settlement it can.
    function test_stakeLockedWhileDepositOut_freeAfterSettlement() public {
        (, uint256 roundId) = _openSla();
        // A holds 42 LINK of stake and 20 LINK out as deposit: A1 leaving with 30 would leave 12.
        vm.prank(stakerA1);
        vm.expectRevert(abi.encodeWithSelector(Node.StakeLocked.selector, STAKE_A2, uint256(DEPOSIT)));
        nodeLogic.withdraw(nodeA, STAKE_A1);
        vm.prank(stakerB1);
        vm.expectRevert(abi.encodeWithSelector(Node.StakeLocked.selector, STAKE_B2, uint256(DEPOSIT)));
        nodeLogic.withdraw(nodeB, STAKE_B1);

        _commitAll(roundId);
        _revealHonest(roundId);
        _close(roundId);
        // The round is over but the deposits are not settled yet: still locked.
        vm.prank(stakerA1);
        vm.expectRevert(abi.encodeWithSelector(Node.StakeLocked.selector, STAKE_A2, uint256(DEPOSIT)));
        nodeLogic.withdraw(nodeA, STAKE_A1);

        vm.startPrank(operatorA);
        nodeLogic.forward(nodeA, address(market), abi.encodeCall(ISlaMarket.withdraw, ()));
        nodeLogic.settleBid(nodeA, 1, 0);
        vm.stopPrank();
        vm.prank(operatorB);
        nodeLogic.settleBid(nodeB, 1, DEPOSIT);

        vm.prank(stakerA1);
        nodeLogic.withdraw(nodeA, STAKE_A1);
        assertEq(link.balanceOf(stakerA1), STAKE_A1, "A1 left with its whole stake");
        uint256 b1Stake = pool.stakeOf(nodeB, stakerB1);
        vm.prank(stakerB1);
        nodeLogic.withdraw(nodeB, b1Stake);
        assertEq(link.balanceOf(stakerB1), b1Stake, "B1 left with what the slash left it");
        assertEq(
            b1Stake, STAKE_B1 * (STAKE_B1 + STAKE_B2 - DEPOSIT) / (STAKE_B1 + STAKE_B2), "B1's stake after the cut"
        );
    }

    // ------------------------------------------------------------------------------------------
    // Books after settlement
    // ------------------------------------------------------------------------------------------

    /// A: stakes untouched; stakers' rewards = PAY - fee - owners' share, split by shares through the
    /// accumulator: increment = floor(part * 1e36 / totalShares), reward_i = floor(shares_i * increment / 1e36).
    function _assertHonestNodeBooks() internal view {
        LinkPool.NodeInfo memory a = pool.nodeInfo(nodeA);
        uint256 total = STAKE_A1 + STAKE_A2;
        uint256 fee = PAY * FEE_BPS / 10_000;
        uint256 ownersShare = PAY * OWNERS_BPS / 10_000;
        uint256 part = PAY - fee - ownersShare;
        assertEq(part, 0.85 ether, "stakers' part: 85 % of the payment");
        assertEq(pool.stakeOf(nodeA, stakerA1), STAKE_A1, "A1's stake unchanged");
        assertEq(pool.stakeOf(nodeA, stakerA2), STAKE_A2, "A2's stake unchanged");
        assertEq(a.totalStaked, total, "A: total stake unchanged");
        assertEq(a.totalSlashed, 0, "A: nothing slashed");
        assertEq(a.locked, 0, "A: nothing locked");
        assertEq(a.operatorOwed, fee, "A: operator fee");
        assertEq(a.ownersOwed, ownersShare, "A: owners' share");
        assertEq(a.rewardReserve, part, "A: stakers' part reserved");
        assertEq(a.totalDistributed, PAY, "A: the payment distributed");

        uint256 increment = part * PoolKeys.SCALE / total;
        uint256 r1 = pool.rewardsOf(nodeA, stakerA1);
        uint256 r2 = pool.rewardsOf(nodeA, stakerA2);
        assertEq(r1, STAKE_A1 * increment / PoolKeys.SCALE, "A1's reward, to the juel");
        assertEq(r2, STAKE_A2 * increment / PoolKeys.SCALE, "A2's reward, to the juel");
        // Against the exact proportional split: at most 1 juel below it, never above.
        uint256 exact1 = part * STAKE_A1 / total;
        uint256 exact2 = part * STAKE_A2 / total;
        assertLe(r1, exact1, "A1 not above its exact share");
        assertLe(exact1 - r1, 1, "A1 at most 1 juel below its exact share");
        assertLe(r2, exact2, "A2 not above its exact share");
        assertLe(exact2 - r2, 1, "A2 at most 1 juel below its exact share");
        assertEq(a.balance, total + part + fee + ownersShare, "A holds stake + everything it owes");
    }

    /// B: every staker loses DEPOSIT / totalStake of its stake; the deposit is the node's whole slash.
    function _assertSlashedNodeBooks() internal view {
        LinkPool.NodeInfo memory b = pool.nodeInfo(nodeB);
        uint256 total = STAKE_B1 + STAKE_B2;
        assertEq(b.totalSlashed, DEPOSIT, "B: totalSlashed = the deposit");
        assertEq(b.totalStaked, total - DEPOSIT, "B: total stake cut by the deposit");
        assertEq(b.totalShares, total, "B: shares untouched (each is worth less)");
        assertEq(b.locked, 0, "B: nothing locked");
        assertEq(b.epoch, 0, "B: no wipe");
        assertEq(b.totalDistributed, 0, "B: no profit");
        assertEq(b.rewardReserve + b.operatorOwed + b.ownersOwed, 0, "B: owes nothing but stake");
        assertEq(b.balance, total - DEPOSIT, "B holds exactly the stake left");
        uint256 b1 = pool.stakeOf(nodeB, stakerB1);
        uint256 b2 = pool.stakeOf(nodeB, stakerB2);
        // stake_i' = floor(stake_i * (total - DEPOSIT) / total): the same fraction from everyone.
        assertEq(b1, STAKE_B1 * (total - DEPOSIT) / total, "B1 cut by deposit/total");
        assertEq(b2, STAKE_B2 * (total - DEPOSIT) / total, "B2 cut by deposit/total");
        // The same fraction: (loss_i / stake_i) == DEPOSIT / total up to the 1-juel rounding of stake_i'.
        assertLe(STAKE_B1 * DEPOSIT / total, STAKE_B1 - b1, "B1's loss at least its fraction");
        assertLe(STAKE_B1 - b1 - STAKE_B1 * DEPOSIT / total, 1, "B1's loss at most 1 juel above its fraction");
        assertLe(STAKE_B2 - b2 - STAKE_B2 * DEPOSIT / total, 1, "B2's loss at most 1 juel above its fraction");
        assertEq(pool.rewardsOf(nodeB, stakerB1) + pool.rewardsOf(nodeB, stakerB2), 0, "B: no rewards");
    }

    /// @dev Everyone withdraws what is theirs; then conservation, account by account.
    function _everyoneTakesWhatIsTheirs() internal {
        uint256 a1Paid = _exitAll(nodeA, stakerA1);
        uint256 a2Paid = _exitAll(nodeA, stakerA2);
        uint256 b1Paid = _exitAll(nodeB, stakerB1);
        uint256 b2Paid = _exitAll(nodeB, stakerB2);
        vm.prank(operatorA);
        uint256 feeA = nodeLogic.withdrawOperatorFees(nodeA);
        owners.collect(nodeA);
        vm.prank(poolOwner);
        uint256 ownersPaid = owners.withdraw();
        vm.prank(plainOracle);
        market.withdraw();
        vm.prank(purchaser);
        market.withdraw();

        assertEq(feeA, PAY * FEE_BPS / 10_000, "A's operator: its fee");
        assertEq(ownersPaid, PAY * OWNERS_BPS / 10_000, "owners: their share");
        assertEq(link.balanceOf(address(market)), 0, "market holds nothing");
        assertEq(
            link.balanceOf(purchaser),
            FUNDS - 3 * PAY + DEPOSIT + PAY,
            "purchaser: paid 3 payments, got B's deposit and 1 back"
        );
        assertEq(link.balanceOf(plainOracle), FUNDS + PAY, "plain oracle: +1 payment");
        // A's side gained exactly the payment, B's side lost exactly the deposit; what stays in a
        // node is rounding dust of the accumulator (A) or of the share price (B), at most 2 juels each.
        uint256 dustA = link.balanceOf(nodeA);
        uint256 dustB = link.balanceOf(nodeB);
        assertLe(dustA, 2, "A: at most 2 juels of reward rounding left");
        assertLe(dustB, 2, "B: at most 2 juels of stake rounding left");
        assertEq(a1Paid + a2Paid + feeA + ownersPaid + dustA, STAKE_A1 + STAKE_A2 + PAY, "A's side: stakes + payment");
        assertEq(b1Paid + b2Paid + dustB, STAKE_B1 + STAKE_B2 - DEPOSIT, "B's side: stakes - deposit");
        assertEq(_sumOfBalances(), link.totalSupply(), "LINK conserved across every account");
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _terms() internal view returns (ISlaMarket.SlaTerms memory t) {
        t.specId = keccak256("eth-usd-sla");
        t.jobType = JOB_TYPE;
        t.params = hex"6470616972674554482f555344";
        t.oracles = 3;
        t.minResponses = 2;
        t.minReputation = 1000;
        t.penaltyDeposit = DEPOSIT;
        t.paymentPerOracle = PAY;
        t.rounds = 1;
        t.biddingEnds = uint64(block.timestamp + 30);
        t.commitWindow = 20;
        t.revealWindow = 20;
        t.aggregator = address(median);
        t.reputation = address(reputation);
    }

    /// @dev The purchaser proposes, A and B bid through `Node.bid`, the plain oracle bids itself,
    ///      anyone finalizes. Returns the SLA and its round.
    function _openSla() internal returns (uint256 slaId, uint256 roundId) {
        ISlaMarket.SlaTerms memory t = _terms();
        vm.prank(purchaser);
        link.transferAndCall(address(market), 3 * PAY, abi.encodeCall(ISlaMarket.propose, (t)));
        slaId = market.slaCount();
        bytes memory bidCall = abi.encodeCall(ISlaMarket.bid, (slaId));
        vm.prank(operatorA);
        assertEq(nodeLogic.bid(nodeA, address(market), DEPOSIT, bidCall), 1, "A's first bid");
        vm.prank(operatorB);
        assertEq(nodeLogic.bid(nodeB, address(market), DEPOSIT, bidCall), 1, "B's first bid");
        vm.prank(plainOracle);
        link.transferAndCall(address(market), DEPOSIT, bidCall);
        vm.warp(t.biddingEnds);
        vm.prank(stranger);
        market.finalize(slaId);
        roundId = market.latestRoundOf(slaId);
    }

    function _salt(address oracle) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", oracle));
    }

    /// @dev A and B commit through `Node.forward`, the plain oracle directly (the last commit opens reveals).
    function _commitAll(uint256 roundId) internal {
        bytes32 ca = market.commitmentOf(roundId, nodeA, ANSWER_A, _salt(nodeA));
        vm.prank(operatorA);
        nodeLogic.forward(nodeA, address(market), abi.encodeCall(ISlaMarket.commit, (roundId, INDEX_A, ca)));
        bytes32 cb = market.commitmentOf(roundId, nodeB, ANSWER_B, _salt(nodeB));
        vm.prank(operatorB);
        nodeLogic.forward(nodeB, address(market), abi.encodeCall(ISlaMarket.commit, (roundId, INDEX_B, cb)));
        bytes32 cp = market.commitmentOf(roundId, plainOracle, ANSWER_PLAIN, _salt(plainOracle));
        vm.prank(plainOracle);
        market.commit(roundId, INDEX_PLAIN, cp);
    }

    /// @dev A reveals through `Node.forward`, the plain oracle directly; B stays silent.
    function _revealHonest(uint256 roundId) internal {
        vm.prank(operatorA);
        nodeLogic.forward(
            nodeA, address(market), abi.encodeCall(ISlaMarket.reveal, (roundId, INDEX_A, ANSWER_A, _salt(nodeA)))
        );
        vm.prank(plainOracle);
        market.reveal(roundId, INDEX_PLAIN, ANSWER_PLAIN, _salt(plainOracle));
        assertEq(uint256(market.roundOf(roundId).status), uint256(ISlaMarket.RoundStatus.Open), "B's reveal missing");
    }

    /// @dev Anyone closes the round after the reveal deadline.
    function _close(uint256 roundId) internal {
        vm.warp(uint256(market.roundOf(roundId).revealDeadline) + 1);
        vm.prank(stranger);
        market.closeRound(roundId);
    }

    function _stake(address node, address staker, uint256 amount) internal {
        bytes memory payload = pool.stakePayload();
        link.transfer(staker, amount);
        vm.prank(staker);
        link.transferAndCall(node, amount, payload);
        assertEq(pool.stakeOf(node, staker), amount, "staked");
    }

    function _exitAll(address node, address staker) internal returns (uint256 paid) {
        vm.prank(staker);
        paid = nodeLogic.withdrawAll(node);
        assertEq(link.balanceOf(staker), paid, "staker received its exit");
    }

    function _assertBid(address node, uint256 bidId, bool open) internal view {
        (uint256 amount, address target, bool isOpen) = pool.bidOf(node, bidId);
        assertEq(amount, DEPOSIT, "bid amount");
        assertEq(target, address(market), "bid target");
        assertEq(isOpen, open, "bid open");
    }

    function _sumOfBalances() internal view returns (uint256 sum) {
        address[16] memory accounts = [
            address(this),
            purchaser,
            plainOracle,
            operatorA,
            operatorB,
            stakerA1,
            stakerA2,
            stakerB1,
            stakerB2,
            poolOwner,
            stranger,
            nodeA,
            nodeB,
            registry.poolStorage(),
            address(market),
            address(rogueMarket)
        ];
        for (uint256 i = 0; i < accounts.length; ++i) {
            sum += link.balanceOf(accounts[i]);
        }
    }
}
