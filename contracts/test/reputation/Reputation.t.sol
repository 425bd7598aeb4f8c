// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "../utils/Test.sol";
import {Reputation} from "../../src/reputation/Reputation.sol";
import {IReputation, IScoreFormula, ISlaDirectory} from "../../src/reputation/IReputation.sol";

/// @dev A market stand-in: purchasers and selected oracles set by the test.
contract DirectoryMock is ISlaDirectory {
    mapping(uint256 => address) public purchaser;
    mapping(uint256 => mapping(address => bool)) public selected;

    function set(uint256 slaId, address buyer, address oracle) external {
        purchaser[slaId] = buyer;
        selected[slaId][oracle] = true;
    }

    function purchaserOf(uint256 slaId) external view returns (address) {
        return purchaser[slaId];
    }

    function isSelected(uint256 slaId, address oracle) external view returns (bool) {
        return selected[slaId][oracle];
    }
}

/// @dev A replacement formula returning a constant.
contract ConstantFormula is IScoreFormula {
    function score(IReputation.Record calldata, IReputation.Record calldata, uint256, uint256)
        external
        pure
        returns (uint256)
    {
        return 1234;
    }
}

contract ReputationTest is Test {
    bytes32 internal constant JOB = keccak256("price:ETH/USD");
    bytes32 internal constant OTHER_JOB = keccak256("price:BTC/USD");

    Reputation internal rep;
    DirectoryMock internal market;
    address internal owner;
    address internal buyer;
    address internal a;
    address internal b;
    address internal c;

    event RoundRecorded(address indexed market, bytes32 indexed jobType, uint256 indexed roundId);
    event OracleRated(address indexed market, uint256 indexed slaId, address indexed oracle, uint8 stars);
    event WriterSet(address indexed market, bool authorized);
    event ScoreFormulaSet(address indexed formula);

    function setUp() public {
        owner = makeAddr("owner");
        buyer = makeAddr("buyer");
        a = makeAddr("a");
        b = makeAddr("b");
        c = makeAddr("c");
        rep = new Reputation(owner);
        market = new DirectoryMock();
        vm.prank(owner);
        rep.setWriter(address(market), true);
        market.set(1, buyer, a);
        market.set(1, buyer, b);
    }

    function _oracles() internal view returns (address[] memory o) {
        o = new address[](3);
        (o[0], o[1], o[2]) = (a, b, c);
    }

    function _blocks(uint64 x, uint64 y, uint64 z) internal pure returns (uint64[] memory r) {
        r = new uint64[](3);
        (r[0], r[1], r[2]) = (x, y, z);
    }

    /// Records one round for (a, b, c) from the market.
    function _record(bytes32 job, uint256 completed, uint256 accepted, uint256 penalized, uint96 penalty) internal {
        vm.prank(address(market));
        rep.recordRound(job, 7, _oracles(), completed, accepted, _blocks(3, 5, 9), penalized, penalty);
    }

    // ---------------------------------------------------------------------------------------
    // Administration
    // ---------------------------------------------------------------------------------------

    function test_constructor_ownerAndDefaultFormula() public view {
        assertEq(rep.owner(), owner, "owner");
        assertEq(address(rep.scoreFormula()), address(rep), "default formula is the contract");
        assertTrue(rep.isWriter(address(market)), "writer");
        assertFalse(rep.isWriter(address(this)), "not writer");
    }

    function test_setWriter_onlyOwner_emits() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        rep.setWriter(address(this), true);
        vm.expectEmit(true, false, false, true, address(rep));
        emit WriterSet(address(market), false);
        vm.prank(owner);
        rep.setWriter(address(market), false);
        assertFalse(rep.isWriter(address(market)), "deauthorized");
        vm.prank(owner);
        vm.expectRevert(Reputation.ZeroAddress.selector);
        rep.setWriter(address(0), true);
    }

    function test_setScoreFormula_onlyOwner_emits_delegates() public {
        ConstantFormula f = new ConstantFormula();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        rep.setScoreFormula(f);
        vm.expectEmit(true, false, false, true, address(rep));
        emit ScoreFormulaSet(address(f));
        vm.prank(owner);
        rep.setScoreFormula(f);
        assertEq(rep.score(a, JOB), 1234, "delegated");
        vm.prank(owner);
        rep.setScoreFormula(IScoreFormula(address(rep)));
        assertEq(rep.score(a, JOB), 5000, "back to default");
        vm.prank(owner);
        vm.expectRevert(Reputation.ZeroAddress.selector);
        rep.setScoreFormula(IScoreFormula(address(0)));
    }

    // ---------------------------------------------------------------------------------------
    // recordRound
    // ---------------------------------------------------------------------------------------

    function test_recordRound_onlyWriter() public {
        vm.expectRevert(abi.encodeWithSelector(Reputation.UnauthorizedWriter.selector, address(this)));
        rep.recordRound(JOB, 1, _oracles(), 7, 7, _blocks(1, 1, 1), 0, 0);
    }

    function test_recordRound_lengthChecks() public {
        vm.startPrank(address(market));
        vm.expectRevert(abi.encodeWithSelector(Reputation.LengthMismatch.selector, 3, 2));
        rep.recordRound(JOB, 1, _oracles(), 7, 7, new uint64[](2), 0, 0);
        vm.expectRevert(abi.encodeWithSelector(Reputation.TooManyOracles.selector, 257));
        rep.recordRound(JOB, 1, new address[](257), 0, 0, new uint64[](257), 0, 0);
        vm.stopPrank();
    }

    function test_recordRound_countersOverallAndPerJob() public {
        vm.expectEmit(true, true, true, true, address(rep));
        emit RoundRecorded(address(market), JOB, 7);
        // a: completed + accepted; b: completed, rejected; c: missed and penalized.
        _record(JOB, 3, 1, 4, 2 ether);
        IReputation.Record memory ra = rep.recordOf(a, JOB);
        assertEq(ra.assigned, 1, "a assigned");
        assertEq(ra.completed, 1, "a completed");
        assertEq(ra.accepted, 1, "a accepted");
        assertEq(ra.responseBlocks, 3, "a blocks");
        assertEq(ra.penalties, 0, "a penalties");
        IReputation.Record memory rb = rep.recordOf(b, bytes32(0));
        assertEq(rb.assigned, 1, "b assigned");
        assertEq(rb.completed, 1, "b completed");
        assertEq(rb.accepted, 0, "b accepted");
        assertEq(rb.responseBlocks, 5, "b blocks");
        IReputation.Record memory rc = rep.recordOf(c, JOB);
        assertEq(rc.assigned, 1, "c assigned");
        assertEq(rc.completed, 0, "c completed");
        assertEq(rc.responseBlocks, 0, "c blocks ignored when not completed");
        assertEq(rc.penalties, 2 ether, "c penalties");
        assertEq(rep.recordOf(c, bytes32(0)).penalties, 2 ether, "c overall penalties");
        // Another job type adds to the overall record only.
        _record(OTHER_JOB, 7, 7, 0, 0);
        assertEq(rep.recordOf(a, JOB).assigned, 1, "per job unchanged");
        assertEq(rep.recordOf(a, OTHER_JOB).assigned, 1, "other job");
        assertEq(rep.recordOf(a, bytes32(0)).assigned, 2, "overall");
        assertEq(rep.recordOf(a, bytes32(0)).responseBlocks, 6, "overall blocks");
        // Job type 0 is counted once.
        _record(bytes32(0), 7, 7, 0, 0);
        assertEq(rep.recordOf(a, bytes32(0)).assigned, 3, "jobType 0 once");
    }

    function test_recordRound_acceptedImpliesCompleted() public {
        _record(JOB, 0, 7, 0, 0);
        assertEq(rep.recordOf(a, JOB).accepted, 0, "accepted without completed ignored");
    }

    function test_recordRound_penaltiesSaturate() public {
        _record(JOB, 0, 0, 7, type(uint96).max);
        _record(JOB, 0, 0, 7, type(uint96).max);
        assertEq(rep.recordOf(a, JOB).penalties, type(uint96).max, "saturated");
        assertEq(rep.recordOf(a, JOB).assigned, 2, "still counting");
        assertEq(rep.score(a, JOB), 0, "fully penalized");
    }

    // ---------------------------------------------------------------------------------------
    // rate
    // ---------------------------------------------------------------------------------------

    function test_rate_byPurchaser_emits_storesOnce() public {
        vm.expectEmit(true, true, true, true, address(rep));
        emit OracleRated(address(market), 1, a, 4);
        vm.prank(buyer);
        rep.rate(address(market), 1, a, 4);
        assertEq(rep.ratingOf(address(market), 1, a), 4, "stored");
        (uint256 sum, uint256 count) = rep.ratingsOf(a);
        assertEq(sum, 4, "sum");
        assertEq(count, 1, "count");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Reputation.AlreadyRated.selector, address(market), 1, a));
        rep.rate(address(market), 1, a, 5);
        vm.prank(buyer);
        rep.rate(address(market), 1, b, 1);
        (sum, count) = rep.ratingsOf(b);
        assertEq(sum, 1, "b sum");
    }

    function test_rate_rejectsNonPurchaser() public {
        vm.expectRevert(abi.encodeWithSelector(Reputation.NotPurchaser.selector, address(this), buyer));
        rep.rate(address(market), 1, a, 3);
        // Unknown SLA: purchaser 0, nobody may rate.
        vm.prank(address(0));
        vm.expectRevert(abi.encodeWithSelector(Reputation.NotPurchaser.selector, address(0), address(0)));
        rep.rate(address(market), 99, a, 3);
    }

    function test_rate_rejectsUnselectedOracle() public {
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Reputation.NotSelected.selector, 1, c));
        rep.rate(address(market), 1, c, 3);
    }

    function test_rate_rejectsBadStars() public {
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Reputation.InvalidStars.selector, 0));
        rep.rate(address(market), 1, a, 0);
        vm.expectRevert(abi.encodeWithSelector(Reputation.InvalidStars.selector, 6));
        rep.rate(address(market), 1, a, 6);
        vm.stopPrank();
    }

    function test_rate_rejectsUnauthorizedMarket() public {
        DirectoryMock rogue = new DirectoryMock();
        rogue.set(1, buyer, a);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Reputation.UnauthorizedWriter.selector, address(rogue)));
        rep.rate(address(rogue), 1, a, 5);
    }

    // ---------------------------------------------------------------------------------------
    // Default score
    // ---------------------------------------------------------------------------------------

    function test_score_newcomerNeutral() public view {
        assertEq(rep.score(makeAddrPure(), JOB), 5000, "newcomer per job");
        assertEq(rep.score(makeAddrPure(), bytes32(0)), 5000, "newcomer overall");
    }

    function makeAddrPure() internal pure returns (address) {
        return address(0xBEEF);
    }

    function test_score_goodAndBadHistory() public {
        for (uint256 i; i < 10; ++i) {
            _record(JOB, 3, 1, 4, 0); // a accepted, b rejected, c missed
        }
        uint256 sa = rep.score(a, JOB);
        uint256 sb = rep.score(b, JOB);
        uint256 sc = rep.score(c, JOB);
        assertGt(sa, 5000, "good above neutral");
        assertLt(sb, 5000, "rejected below neutral");
        assertLt(sc, 5000, "missed below neutral");
        // a: A = 20, N = 20 -> 10000 * 21 / 22 = 9545; blended with neutral rating 5000.
        assertEq(sa, uint256(7500 * 9545 + 2500 * 5000) / 10_000, "a exact");
        // Per-job history dominates, but the other job's record counts too.
        // Other job: A = 10, N = 10 -> 10000 * 11 / 12 = 9166 -> (7500 * 9166 + 2500 * 5000) / 10000.
        assertEq(rep.score(a, OTHER_JOB), 8124, "other job");
    }

    function test_score_ratingsMove() public {
        uint256 before = rep.score(a, JOB);
        vm.prank(buyer);
        rep.rate(address(market), 1, a, 5);
        vm.prank(buyer);
        rep.rate(address(market), 1, b, 1);
        assertGt(rep.score(a, JOB), before, "5 stars raise");
        assertLt(rep.score(b, JOB), before, "1 star lowers");
        // a: rating = 10000 * (5 - 1 + 2) / 8 = 7500 -> 0.75 * 5000 + 0.25 * 7500.
        assertEq(rep.score(a, JOB), 5625, "a exact");
    }

    function test_score_penaltiesLower() public {
        _record(JOB, 0, 0, 4, 0);
        uint256 noPenalty = rep.score(c, JOB);
        _record(OTHER_JOB, 7, 7, 4, 10 ether);
        // c got an accepted round elsewhere but forfeited 10 LINK: factor 1/2.
        assertLt(rep.score(c, JOB), noPenalty, "penalty lowers");
    }

    function test_defaultFormula_externalMatchesInternal() public {
        _record(JOB, 3, 1, 4, 1 ether);
        IReputation.Record memory o = rep.recordOf(c, bytes32(0));
        IReputation.Record memory j = rep.recordOf(c, JOB);
        assertEq(rep.score(o, j, 0, 0), rep.score(c, JOB), "same");
    }

    // ---------------------------------------------------------------------------------------
    // Fuzz
    // ---------------------------------------------------------------------------------------

    /// Any inputs, however inconsistent, give a score in 0..10,000.
    function testFuzz_formulaBounded(
        IReputation.Record memory overall,
        IReputation.Record memory perJob,
        uint256 ratingSum,
        uint256 ratingCount
    ) public view {
        assertLe(rep.score(overall, perJob, ratingSum, ratingCount), 10_000, "bounded");
    }

    /// More forfeited penalties never raise the score.
    function testFuzz_penaltiesMonotonic(
        IReputation.Record memory overall,
        IReputation.Record memory perJob,
        uint96 extra,
        uint8 stars,
        uint8 count
    ) public view {
        uint256 sum = uint256(count) * bound(stars, 1, 5);
        uint256 s0 = rep.score(overall, perJob, sum, count);
        uint96 room = type(uint96).max - overall.penalties;
        overall.penalties += extra > room ? room : extra;
        assertLe(rep.score(overall, perJob, sum, count), s0, "not raised");
    }

    /// Recording a sequence of random rounds: counters add up; a round that is not accepted never
    /// raises the oracle's score, an accepted one never lowers it, a penalty never raises it.
    function testFuzz_recordedRoundsMonotonic(uint256 seed, uint8 rounds_) public {
        uint256 rounds = bound(rounds_, 1, 20);
        uint256 completedA;
        uint256 acceptedA;
        for (uint256 r; r < rounds; ++r) {
            uint256 h = uint256(keccak256(abi.encode(seed, r)));
            bytes32 job = h & 1 == 0 ? JOB : OTHER_JOB;
            uint256 completed = (h >> 8) & 7;
            uint256 accepted = (h >> 16) & completed;
            uint256 penalized = (h >> 24) & 7 & ~completed;
            uint96 penalty = uint96((h >> 32) % 5 ether);
            uint256 before = rep.score(a, JOB);
            _record(job, completed, accepted, penalized, penalty);
            uint256 afterScore = rep.score(a, JOB);
            if (accepted & 1 == 1) assertGe(afterScore, before, "accepted never lowers");
            else assertLe(afterScore, before, "not accepted never raises");
            if (completed & 1 == 1) ++completedA;
            if (accepted & 1 == 1) ++acceptedA;
            assertLe(afterScore, 10_000, "bounded");
        }
        IReputation.Record memory o = rep.recordOf(a, bytes32(0));
        assertEq(o.assigned, rounds, "assigned");
        assertEq(o.completed, completedA, "completed");
        assertEq(o.accepted, acceptedA, "accepted");
        IReputation.Record memory j1 = rep.recordOf(a, JOB);
        IReputation.Record memory j2 = rep.recordOf(a, OTHER_JOB);
        assertEq(uint256(j1.assigned) + j2.assigned, rounds, "per-job sums");
        assertEq(uint256(j1.penalties) + j2.penalties, o.penalties, "penalty sums");
    }

    /// Only authorized markets write; only the purchaser rates.
    function testFuzz_onlyWriterAndPurchaser(address caller) public {
        vm.assume(caller != address(market) && caller != buyer);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(Reputation.UnauthorizedWriter.selector, caller));
        rep.recordRound(JOB, 1, _oracles(), 7, 7, _blocks(1, 1, 1), 0, 0);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(Reputation.NotPurchaser.selector, caller, buyer));
        rep.rate(address(market), 1, a, 3);
    }

    /// Stars 1..5 are accepted and move the average; anything else reverts.
    function testFuzz_stars(uint8 stars) public {
        vm.prank(buyer);
        if (stars == 0 || stars > 5) {
            vm.expectRevert(abi.encodeWithSelector(Reputation.InvalidStars.selector, stars));
            rep.rate(address(market), 1, a, stars);
            return;
        }
        rep.rate(address(market), 1, a, stars);
        uint256 s = rep.score(a, JOB);
        if (stars > 3) assertGt(s, 5000, "above neutral");
        else if (stars < 3) assertLt(s, 5000, "below neutral");
        else assertEq(s, 5000, "neutral");
    }
}
