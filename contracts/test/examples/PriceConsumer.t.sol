// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleFixture} from "../utils/OracleFixture.sol";
import {Oracle} from "../../src/oracle/Oracle.sol";
import {OracleClient} from "../../src/oracle/OracleClient.sol";
import {PriceConsumer} from "../../src/examples/PriceConsumer.sol";
import {RevertingConsumer} from "../../src/examples/RevertingConsumer.sol";

contract PriceConsumerTest is OracleFixture {
    function test_constructorWiring() public view {
        assertEq(consumer.oracleAddress(), address(oracle), "oracle");
        assertEq(consumer.linkToken(), address(link), "link");
        assertEq(link.balanceOf(address(consumer)), CONSUMER_FUNDING, "funded");
    }

    function test_requestPrice_emitsPriceRequestedAndPays() public {
        bytes32 expected = keccak256(abi.encodePacked(address(consumer), uint256(1)));
        vm.expectEmit(true, false, false, true, address(consumer));
        emit PriceConsumer.PriceRequested(expected, "ETH/USD");
        bytes32 id = consumer.requestPrice(SPEC_ID, "ETH/USD", 100, PAYMENT);
        assertEq(id, expected, "id");
        assertEq(consumer.pendingOracle(id), address(oracle), "pending");
        assertEq(link.balanceOf(address(consumer)), CONSUMER_FUNDING - PAYMENT, "paid");
    }

    function test_requestUrl_classicParams() public {
        vm.recordLogs();
        bytes32 id = consumer.requestUrl(SPEC_ID, "https://api.example/eth", "data,price", -5, PAYMENT);
        RequestEvent memory ev = _lastOracleRequest();
        assertEq(ev.requestId, id, "id");
        assertEq(ev.dataVersion, 1, "v1");
        assertEq(
            ev.data,
            bytes.concat(
                hex"63",
                "get",
                hex"77",
                "https://api.example/eth",
                hex"64",
                "path",
                hex"6a",
                "data,price",
                hex"65",
                "times",
                hex"24" // -5 = major 1, n 4
            ),
            "cbor"
        );
    }

    function test_fullFlow_v1_and_v2() public {
        RequestEvent memory a = _requestPrice(PAYMENT);
        RequestEvent memory b = _requestPriceOperator(PAYMENT);
        assertTrue(a.requestId != b.requestId, "distinct ids");
        assertTrue(_fulfil(a, 300_000), "v1");
        assertEq(consumer.latestAnswer(), 300_000, "a");
        assertEq(consumer.latestRequestId(), a.requestId, "a id");
        assertTrue(_fulfil2(b, 310_000), "v2");
        assertEq(consumer.latestAnswer(), 310_000, "latest");
        assertEq(consumer.latestRequestId(), b.requestId, "latest id");
        assertEq(consumer.fulfilledCount(), 2, "count");
        assertEq(oracle.withdrawable(), 2 * PAYMENT, "earned");
    }

    function testFuzz_fulfil_onlyFromOracle(address caller, uint256 value) public {
        vm.assume(caller != address(oracle));
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.expectRevert(abi.encodeWithSelector(OracleClient.SourceMustBeOracle.selector, ev.requestId, caller));
        vm.prank(caller);
        consumer.fulfill(ev.requestId, value);
    }

    function test_cancelRequest() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.warp(ev.cancelExpiration + 1);
        consumer.cancelRequest(ev.requestId, ev.payment, ev.callbackFunctionId, ev.cancelExpiration);
        assertEq(link.balanceOf(address(consumer)), CONSUMER_FUNDING, "refunded");
        assertEq(consumer.pendingOracle(ev.requestId), address(0), "forgotten");
    }

    function testFuzz_requestPrice_anyPairAndTimes(string calldata pair, int256 times, uint256 payment) public {
        payment = bound(payment, 0, CONSUMER_FUNDING);
        vm.recordLogs();
        consumer.requestPrice(SPEC_ID, pair, times, payment);
        RequestEvent memory ev = _lastOracleRequest();
        assertEq(ev.payment, payment, "payment");
        // The data starts with text(4) "pair" followed by the pair's text head.
        assertEq(uint256(uint8(ev.data[0])), 0x64, "key head");
        assertEq(uint256(uint8(ev.data[5])) >> 5, 3, "value is text");
    }

    function test_revertingConsumer_requestsLikePriceConsumer() public {
        RevertingConsumer bad = new RevertingConsumer(address(link), address(oracle));
        link.transfer(address(bad), PAYMENT);
        vm.recordLogs();
        bad.requestPrice(SPEC_ID, "ETH/USD", 100, PAYMENT);
        RequestEvent memory ev = _lastOracleRequest();
        assertEq(ev.data, _ethUsdTimes100Cbor(), "same params");
        vm.expectRevert(abi.encodeWithSelector(RevertingConsumer.CallbackRejected.selector, ev.requestId));
        bad.fulfill(ev.requestId, 1);
    }

    function test_oracleRejectsDirectCallsFromConsumerPath() public {
        // A consumer cannot skip the payment by calling oracleRequest itself.
        vm.expectRevert(abi.encodeWithSelector(Oracle.OnlyInternalRequest.selector, address(this)));
        oracle.oracleRequest(address(this), PAYMENT, SPEC_ID, address(this), bytes4(0), 1, 1, "");
    }
}
