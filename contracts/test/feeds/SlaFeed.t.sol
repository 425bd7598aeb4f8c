// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "../utils/Test.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {SlaFeed} from "../../src/market/SlaFeed.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {ISlaConsumer} from "../../src/market/ISlaConsumer.sol";
import {AggregatorV3Interface} from "../../src/feeds/AggregatorV3Interface.sol";
import {SlaMarketMock} from "./mocks/SlaMarketMock.sol";

contract SlaFeedTest is Test {
    uint256 internal constant FIRST_SLA = 42;
    uint96 internal constant PAY = 0.1 ether;

    LinkToken internal link;
    SlaMarketMock internal market;
    SlaFeed internal feed;
    address internal owner;

    event SlaOpened(uint256 payment, uint32 rounds);
    event SlaRecognized(uint256 indexed slaId);
    event FeedRoundAnswered(
        uint80 indexed roundId, uint256 indexed slaId, uint256 indexed marketRoundId, int256 answer
    );
    event SlaEndRequested(uint256 indexed slaId);
    event LinkWithdrawn(address indexed recipient, uint256 amount);

    function setUp() public {
        owner = makeAddr("owner");
        link = new LinkToken(address(this));
        market = new SlaMarketMock(link, FIRST_SLA);
        vm.prank(owner);
        feed = new SlaFeed(address(link), address(market), 8, "ETH / USD");
        link.transfer(address(feed), 100 ether);
        vm.warp(1_000_000);
    }

    function _terms() internal pure returns (ISlaMarket.SlaTerms memory t) {
        t.specId = bytes32("spec");
        t.jobType = keccak256("price:ETH/USD");
        t.oracles = 5;
        t.minResponses = 3;
        t.paymentPerOracle = PAY;
        t.rounds = 10;
        t.biddingEnds = 2_000_000;
        t.commitWindow = 60;
        t.revealWindow = 60;
        t.heartbeat = 3600;
        t.deviationBps = 50;
        t.aggregator = address(0xA66);
        t.reputation = address(0xBEB);
        t.callback = address(0xDEAD); // overwritten
        t.callbackSelector = bytes4(0xdeadbeef); // overwritten
    }

    function _open() internal returns (uint256 slaId) {
        slaId = market.nextSlaId();
        vm.prank(owner);
        feed.open(_terms());
    }

    function test_metadata() public view {
        assertEq(uint256(feed.decimals()), 8, "decimals");
        assertEq(feed.description(), "ETH / USD", "description");
        assertEq(feed.version(), 1, "version");
        assertEq(feed.link(), address(link), "link");
        assertEq(feed.market(), address(market), "market");
        assertEq(feed.owner(), owner, "owner");
        assertEq(uint256(feed.latestRound()), 0, "no round");
    }

    function test_constructor_rejectsZeroAddresses() public {
        vm.expectRevert(SlaFeed.ZeroAddress.selector);
        new SlaFeed(address(0), address(market), 8, "x");
        vm.expectRevert(SlaFeed.ZeroAddress.selector);
        new SlaFeed(address(link), address(0), 8, "x");
    }

    function test_open_proposesWithFeedAsCallback() public {
        vm.expectEmit(false, false, false, true, address(feed));
        emit SlaOpened(5 * 10 * uint256(PAY), 10);
        uint256 slaId = _open();
        (ISlaMarket.SlaTerms memory t, ISlaMarket.SlaStatus status, address purchaser) = market.slaOf(slaId);
        assertEq(purchaser, address(feed), "purchaser is the feed");
        assertEq(t.callback, address(feed), "callback");
        assertEq(t.callbackSelector, ISlaConsumer.onRoundAnswer.selector, "selector");
        assertEq(uint256(status), uint256(ISlaMarket.SlaStatus.Bidding), "bidding");
        assertEq(t.jobType, keccak256("price:ETH/USD"), "terms passed");
        assertEq(link.balanceOf(address(market)), 5 ether, "paid 5 * 10 * 0.1");
        assertEq(link.balanceOf(address(feed)), 95 ether, "rest");
    }

    function test_open_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        feed.open(_terms());
    }

    function test_open_rejectsInsufficientLinkAndEmptyTerms() public {
        ISlaMarket.SlaTerms memory t = _terms();
        t.rounds = 1000; // 50 LINK per 100 rounds -> 500 LINK
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.InsufficientLink.selector, 100 ether, 500 ether));
        feed.open(t);
        t.rounds = 0;
        vm.prank(owner);
        vm.expectRevert(SlaFeed.InvalidTerms.selector);
        feed.open(t);
        t.rounds = 1;
        t.oracles = 0;
        vm.prank(owner);
        vm.expectRevert(SlaFeed.InvalidTerms.selector);
        feed.open(t);
    }

    function test_noData_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.NoDataPresent.selector, uint80(0)));
        feed.latestRoundData();
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.NoDataPresent.selector, uint80(1)));
        feed.getRoundData(1);
    }

    function test_answers_becomeSequentialRounds() public {
        uint256 slaId = _open();
        vm.expectEmit(true, false, false, true, address(feed));
        emit SlaRecognized(slaId);
        vm.expectEmit(true, true, true, true, address(feed));
        emit FeedRoundAnswered(1, slaId, 100, 2000e8);
        market.answer(slaId, uint64(block.timestamp - 90), 2000e8);
        assertEq(feed.currentSlaId(), slaId, "learned sla id");
        assertTrue(feed.isOwnSla(slaId), "own");

        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredIn) =
            feed.latestRoundData();
        assertEq(uint256(roundId), 1, "round 1");
        assertEq(answer, 2000e8, "answer");
        assertEq(startedAt, block.timestamp - 90, "startedAt from the market round");
        assertEq(updatedAt, block.timestamp, "updatedAt");
        assertEq(uint256(answeredIn), 1, "answeredInRound");

        vm.warp(block.timestamp + 3600);
        market.answer(slaId, uint64(block.timestamp - 30), -5);
        (roundId, answer,,,) = feed.latestRoundData();
        assertEq(uint256(roundId), 2, "round 2");
        assertEq(answer, -5, "negative answer");
        (roundId, answer, startedAt, updatedAt, answeredIn) = feed.getRoundData(1);
        assertEq(answer, 2000e8, "round 1 kept");
        assertEq(updatedAt, 1_000_000, "round 1 time");
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.NoDataPresent.selector, uint80(3)));
        feed.getRoundData(3);
    }

    function test_startedAt_fallsBackWhenMarketCannotTell() public {
        uint256 slaId = _open();
        market.setRoundOfReverts(true);
        market.answer(slaId, 0, 7);
        (,, uint256 startedAt, uint256 updatedAt,) = feed.latestRoundData();
        assertEq(startedAt, updatedAt, "fallback");
    }

    function test_onRoundAnswer_onlyMarket() public {
        uint256 slaId = _open();
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.OnlyMarket.selector, address(this)));
        feed.onRoundAnswer(slaId, 1, 1);
    }

    function test_onRoundAnswer_rejectsForeignSla() public {
        _open();
        // Someone else's SLA naming the feed as its callback.
        uint256 foreign = market.fakeSla(address(this), address(feed));
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.ForeignSla.selector, foreign));
        market.answer(foreign, uint64(block.timestamp), 666);
        assertFalse(feed.isOwnSla(foreign), "not own");
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.NoDataPresent.selector, uint80(0)));
        feed.latestRoundData();
    }

    function test_endSla_andWithdraw() public {
        uint256 slaId = _open();
        market.answer(slaId, uint64(block.timestamp), 1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        feed.endSla(slaId);
        vm.expectEmit(true, false, false, true, address(feed));
        emit SlaEndRequested(slaId);
        vm.prank(owner);
        feed.endSla(slaId);
        assertEq(market.withdrawable(address(feed)), 5 ether, "credited back");

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        feed.withdraw();
        vm.expectEmit(true, false, false, true, address(feed));
        emit LinkWithdrawn(owner, 100 ether);
        vm.prank(owner);
        uint256 amount = feed.withdraw();
        assertEq(amount, 100 ether, "refund and balance");
        assertEq(link.balanceOf(owner), 100 ether, "owner got it");
        assertEq(link.balanceOf(address(feed)), 0, "empty");
        // Nothing credited: withdraw still works and sends 0.
        vm.prank(owner);
        assertEq(feed.withdraw(), 0, "nothing left");
    }

    function test_endSla_ofForeignSlaRevertsAtMarket() public {
        uint256 foreign = market.fakeSla(address(this), address(feed));
        vm.prank(owner);
        vm.expectRevert(SlaMarketMock.NotPurchaser.selector);
        feed.endSla(foreign);
    }

    function test_reopen_secondSlaAlsoRecognized() public {
        uint256 first = _open();
        market.answer(first, uint64(block.timestamp), 1);
        vm.prank(owner);
        feed.endSla(first);
        uint256 second = _open();
        market.answer(second, uint64(block.timestamp), 2);
        assertEq(feed.currentSlaId(), second, "latest sla");
        (uint80 roundId, int256 answer,,,) = feed.latestRoundData();
        assertEq(uint256(roundId), 2, "continues numbering");
        assertEq(answer, 2, "answer");
    }

    function test_readableThroughStandardInterface() public {
        uint256 slaId = _open();
        market.answer(slaId, uint64(block.timestamp), 1234);
        AggregatorV3Interface v3 = AggregatorV3Interface(address(feed));
        (, int256 answer,,,) = v3.latestRoundData();
        assertEq(answer, 1234, "via interface");
    }

    /// Gas of the callback (execution gas of the call frame): the first answer of an SLA asks the
    /// market `slaOf`, later ones only `roundOf`. The market's callback gas cap must cover this.
    function test_gas_onRoundAnswer() public {
        uint256 slaId = _open();
        uint256 r1 = market.answer(slaId, uint64(block.timestamp), 1); // creates round views
        uint256 r2 = market.answer(slaId, uint64(block.timestamp), 2);
        SlaFeed fresh = new SlaFeed(address(link), address(market), 8, "x");
        link.transfer(address(fresh), 10 ether);
        fresh.open(_terms());
        uint256 freshSla = market.nextSlaId() - 1;
        vm.prank(address(market));
        fresh.onRoundAnswer(freshSla, r1, 1);
        uint256 first = vm.lastCallGas().gasTotalUsed;
        vm.prank(address(market));
        fresh.onRoundAnswer(freshSla, r2, 2);
        uint256 next = vm.lastCallGas().gasTotalUsed;
        emit log_named_uint("gas.slaFeed.onRoundAnswer.first", first);
        emit log_named_uint("gas.slaFeed.onRoundAnswer.next", next);
        assertLt(next, 80_000, "next");
        assertLt(first, 150_000, "first");
    }

    /// Any sequence of answers is stored in order with sequential ids; unknown ids revert.
    function testFuzz_roundsStoredInOrder(int256[8] memory answers, uint8 count_, uint80 probe) public {
        uint256 count = bound(count_, 1, 8);
        uint256 slaId = _open();
        for (uint256 i; i < count; ++i) {
            vm.warp(block.timestamp + 1 + i);
            market.answer(slaId, uint64(block.timestamp), answers[i]);
        }
        for (uint256 i; i < count; ++i) {
            (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredIn) = feed.getRoundData(uint80(i + 1));
            assertEq(uint256(roundId), i + 1, "id");
            assertEq(uint256(answeredIn), i + 1, "answeredIn");
            assertEq(answer, answers[i], "answer");
            assertGt(updatedAt, 0, "time");
        }
        if (probe == 0 || probe > count) {
            vm.expectRevert(abi.encodeWithSelector(SlaFeed.NoDataPresent.selector, probe));
            feed.getRoundData(probe);
        }
    }

    /// Only the market may call back.
    function testFuzz_onlyMarket(address caller, uint256 slaId) public {
        vm.assume(caller != address(market));
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(SlaFeed.OnlyMarket.selector, caller));
        feed.onRoundAnswer(slaId, 1, 1);
    }
}
