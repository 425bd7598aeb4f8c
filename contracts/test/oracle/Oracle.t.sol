// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleFixture} from "../utils/OracleFixture.sol";
import {Oracle} from "../../src/oracle/Oracle.sol";
import {IOracle} from "../../src/oracle/IOracle.sol";
import {IERC677} from "../../src/token/IERC677.sol";
import {PriceConsumer} from "../../src/examples/PriceConsumer.sol";
import {RevertingConsumer} from "../../src/examples/RevertingConsumer.sol";
import {GasRecordingConsumer} from "../mocks/GasRecordingConsumer.sol";
import {Requester} from "../mocks/Requester.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract OracleTest is OracleFixture {
    Requester internal requester;
    GasRecordingConsumer internal recorder;

    function setUp() public override {
        super.setUp();
        requester = new Requester(IERC677(address(link)), IOracle(address(oracle)));
        link.transfer(address(requester), CONSUMER_FUNDING);
        recorder = new GasRecordingConsumer();
    }

    // ------------------------------------------------------------------ metadata

    function test_metadata() public view {
        assertEq(oracle.typeAndVersion(), "Oracle 1.0.0", "typeAndVersion");
        assertEq(oracle.getChainlinkToken(), address(link), "getChainlinkToken");
        assertEq(oracle.linkToken(), address(link), "linkToken");
        assertEq(oracle.owner(), owner, "owner");
        assertEq(oracle.EXPIRY_TIME(), 5 minutes, "expiry");
        assertEq(oracle.MINIMUM_CONSUMER_GAS_LIMIT(), 400_000, "gas floor");
        assertTrue(oracle.isAuthorizedSender(node), "node authorized");
        assertFalse(oracle.isAuthorizedSender(owner), "owner not authorized");
    }

    // ------------------------------------------------------------------ requests

    function test_requestPrice_emitsOracleRequest() public {
        bytes32 expectedId = keccak256(abi.encodePacked(address(consumer), uint256(1)));
        vm.expectEmit(true, false, false, true, address(oracle));
        emit IOracle.OracleRequest(
            SPEC_ID,
            address(consumer),
            expectedId,
            PAYMENT,
            address(consumer),
            FULFILL_SELECTOR,
            block.timestamp + 5 minutes,
            1,
            _ethUsdTimes100Cbor()
        );
        bytes32 id = consumer.requestPrice(SPEC_ID, "ETH/USD", 100, PAYMENT);
        assertEq(id, expectedId, "request id");
    }

    function test_requestPriceOperator_emitsVersion2WithSenderAsCallback() public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        assertEq(ev.specId, SPEC_ID, "spec");
        assertEq(ev.requester, address(consumer), "requester");
        assertEq(ev.callbackAddr, address(consumer), "callback = sender");
        assertEq(ev.callbackFunctionId, FULFILL_SELECTOR, "selector");
        assertEq(ev.dataVersion, 2, "data version");
        assertEq(ev.data, _ethUsdTimes100Cbor(), "cbor");
    }

    function test_request_storesCommitmentAndEscrow() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        (bytes31 hash, uint8 version) = oracle.getCommitment(ev.requestId);
        assertEq(
            bytes32(hash),
            bytes32(_paramsHash(PAYMENT, address(consumer), FULFILL_SELECTOR, block.timestamp + 5 minutes)),
            "params hash"
        );
        assertEq(uint256(version), 1, "version");
        assertEq(oracle.tokensInEscrow(), PAYMENT, "escrow");
        assertEq(oracle.withdrawable(), 0, "withdrawable");
        assertEq(link.balanceOf(address(oracle)), PAYMENT, "oracle balance");
    }

    function test_onTokenTransfer_revertsUnlessCalledByLink() public {
        bytes memory payload = abi.encodeCall(
            IOracle.oracleRequest,
            (address(this), PAYMENT, SPEC_ID, address(consumer), FULFILL_SELECTOR, 1, 1, bytes(""))
        );
        vm.expectRevert(abi.encodeWithSelector(Oracle.OnlyLinkToken.selector, address(this)));
        oracle.onTokenTransfer(address(this), PAYMENT, payload);
    }

    function testFuzz_oracleRequest_directCallReverts(address caller) public {
        vm.assume(caller != address(oracle));
        vm.expectRevert(abi.encodeWithSelector(Oracle.OnlyInternalRequest.selector, caller));
        vm.prank(caller);
        oracle.oracleRequest(caller, PAYMENT, SPEC_ID, address(consumer), FULFILL_SELECTOR, 1, 1, "");
    }

    function testFuzz_operatorRequest_directCallReverts(address caller) public {
        vm.assume(caller != address(oracle));
        vm.expectRevert(abi.encodeWithSelector(Oracle.OnlyInternalRequest.selector, caller));
        vm.prank(caller);
        oracle.operatorRequest(caller, PAYMENT, SPEC_ID, FULFILL_SELECTOR, 1, 2, "");
    }

    /// A requester cannot claim to be someone else or to have paid more than it did.
    function testFuzz_onTokenTransfer_overwritesSpoofedSenderAndPayment(
        address victim,
        uint256 claimedPayment,
        uint256 paid
    ) public {
        paid = bound(paid, 0, CONSUMER_FUNDING);
        address attacker = makeAddr("attacker");
        link.transfer(attacker, paid);
        bytes memory payload = abi.encodeCall(
            IOracle.oracleRequest,
            (victim, claimedPayment, SPEC_ID, address(recorder), GasRecordingConsumer.callback.selector, 7, 1, "")
        );
        vm.recordLogs();
        vm.prank(attacker);
        link.transferAndCall(address(oracle), paid, payload);
        RequestEvent memory ev = _lastOracleRequest();
        assertEq(ev.requester, attacker, "requester is the real token sender");
        assertEq(ev.payment, paid, "payment is the real amount");
        assertEq(ev.requestId, keccak256(abi.encodePacked(attacker, uint256(7))), "id derives from real sender");
        assertEq(oracle.tokensInEscrow(), paid, "escrow is the real amount");
    }

    function test_onTokenTransfer_rejectsOtherSelectors() public {
        bytes memory payload = abi.encodeCall(IOracle.cancelOracleRequest, (bytes32(0), 0, bytes4(0), 0));
        vm.expectRevert(
            abi.encodeWithSelector(Oracle.UnsupportedRequestFunction.selector, IOracle.cancelOracleRequest.selector)
        );
        link.transferAndCall(address(oracle), PAYMENT, payload);
    }

    function test_onTokenTransfer_rejectsShortPayload() public {
        bytes memory payload = abi.encodePacked(IOracle.oracleRequest.selector, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Oracle.RequestDataTooShort.selector, uint256(36)));
        link.transferAndCall(address(oracle), PAYMENT, payload);
    }

    function test_onTokenTransfer_rejectsMalformedArguments() public {
        // Right selector and room for the two overwritten words, but nothing else to decode.
        bytes memory payload = abi.encodePacked(IOracle.oracleRequest.selector, bytes32(0), bytes32(0));
        vm.expectRevert();
        link.transferAndCall(address(oracle), PAYMENT, payload);
    }

    function test_request_rejectsDuplicateId() public {
        bytes32 id =
            requester.oracleRequest(PAYMENT, SPEC_ID, address(requester), Requester.callback.selector, 1, 1, "");
        vm.expectRevert(abi.encodeWithSelector(Oracle.RequestAlreadyExists.selector, id));
        requester.oracleRequest(PAYMENT, SPEC_ID, address(requester), Requester.callback.selector, 1, 1, "");
        // The same nonce through the other encoding collides too.
        vm.expectRevert(abi.encodeWithSelector(Oracle.RequestAlreadyExists.selector, id));
        requester.operatorRequest(PAYMENT, SPEC_ID, Requester.callback.selector, 1, 2, "");
    }

    function test_request_rejectsCallbackToLink() public {
        vm.expectRevert(Oracle.CannotCallbackToLinkToken.selector);
        requester.oracleRequest(PAYMENT, SPEC_ID, address(link), link.transfer.selector, 1, 1, "");
    }

    function test_request_rejectsCallbackToOracle() public {
        vm.expectRevert(Oracle.CannotCallbackToOracle.selector);
        requester.oracleRequest(PAYMENT, SPEC_ID, address(oracle), IOracle.oracleRequest.selector, 1, 1, "");
    }

    function test_request_rejectsDataVersionAbove255() public {
        vm.expectRevert(abi.encodeWithSelector(Oracle.DataVersionTooLarge.selector, uint256(256)));
        requester.oracleRequest(PAYMENT, SPEC_ID, address(requester), Requester.callback.selector, 1, 256, "");
    }

    function test_request_idCanBeReusedAfterCancel() public {
        bytes32 id =
            requester.oracleRequest(PAYMENT, SPEC_ID, address(requester), Requester.callback.selector, 1, 1, "");
        uint256 expiration = block.timestamp + 5 minutes;
        vm.warp(expiration);
        requester.cancel(id, PAYMENT, Requester.callback.selector, expiration);
        bytes32 again =
            requester.oracleRequest(PAYMENT, SPEC_ID, address(requester), Requester.callback.selector, 1, 1, "");
        assertEq(again, id, "same id once closed");
    }

    // ------------------------------------------------------------------ fulfilment (single word)

    function test_fulfil_deliversAnswerAndPaysOracle() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit IOracle.OracleResponse(ev.requestId);
        vm.expectEmit(true, false, false, true, address(consumer));
        emit PriceConsumer.PriceFulfilled(ev.requestId, 3000e8);
        assertTrue(_fulfil(ev, 3000e8), "callback succeeded");

        assertEq(consumer.latestAnswer(), 3000e8, "latest");
        assertEq(consumer.latestRequestId(), ev.requestId, "latest id");
        assertEq(consumer.fulfilledCount(), 1, "count");
        assertEq(oracle.tokensInEscrow(), 0, "escrow released");
        assertEq(oracle.withdrawable(), PAYMENT, "earned");
        (bytes31 hash,) = oracle.getCommitment(ev.requestId);
        assertEq(bytes32(hash), bytes32(0), "commitment deleted");
    }

    function testFuzz_fulfil_unauthorizedSenderReverts(address caller, uint256 value) public {
        vm.assume(caller != node);
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnauthorizedSender.selector, caller));
        vm.prank(caller);
        oracle.fulfillOracleRequest(
            ev.requestId, ev.payment, ev.callbackAddr, ev.callbackFunctionId, ev.cancelExpiration, bytes32(value)
        );
    }

    function test_fulfil_twiceReverts() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        _fulfil(ev, 1);
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, ev.requestId));
        _fulfil(ev, 2);
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, ev.requestId));
        _fulfil2(ev, 2);
    }

    function test_fulfil_unknownRequestReverts() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        ev.requestId = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, ev.requestId));
        _fulfil(ev, 1);
    }

    /// Changing any one committed field makes the hash mismatch.
    function testFuzz_fulfil_wrongParamsReverts(uint8 field, uint256 noise) public {
        vm.assume(noise != 0);
        RequestEvent memory ev = _requestPrice(PAYMENT);
        field = field % 4;
        if (field == 0) ev.payment ^= noise;
        if (field == 1) ev.callbackAddr = address(uint160(ev.callbackAddr) ^ uint160(noise | 1));
        if (field == 2) ev.callbackFunctionId = bytes4(uint32(ev.callbackFunctionId) ^ uint32(noise | 1));
        if (field == 3) ev.cancelExpiration ^= noise;
        vm.expectRevert(abi.encodeWithSelector(Oracle.ParamsHashMismatch.selector, ev.requestId));
        _fulfil(ev, 1);
    }

    function test_fulfil_rejectsVersion2Request() public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        vm.expectRevert(
            abi.encodeWithSelector(Oracle.DataVersionMismatch.selector, ev.requestId, uint256(2), uint256(1))
        );
        _fulfil(ev, 1);
    }

    function test_fulfil_failingCallbackStillSettles() public {
        RevertingConsumer bad = new RevertingConsumer(address(link), address(oracle));
        link.transfer(address(bad), PAYMENT);
        vm.recordLogs();
        bad.requestPrice(SPEC_ID, "ETH/USD", 100, PAYMENT);
        RequestEvent memory ev = _lastOracleRequest();

        vm.expectEmit(true, false, false, true, address(oracle));
        emit IOracle.OracleResponse(ev.requestId);
        assertFalse(_fulfil(ev, 42), "callback failed");
        assertEq(oracle.withdrawable(), PAYMENT, "paid anyway");
        assertEq(oracle.tokensInEscrow(), 0, "escrow released");
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, ev.requestId));
        _fulfil(ev, 42);
    }

    function test_fulfil2_failingCallbackStillSettles() public {
        RevertingConsumer bad = new RevertingConsumer(address(link), address(oracle));
        link.transfer(address(bad), PAYMENT);
        vm.recordLogs();
        bad.requestPriceOperator(SPEC_ID, "ETH/USD", 100, PAYMENT);
        RequestEvent memory ev = _lastOracleRequest();
        assertFalse(_fulfil2(ev, 42), "callback failed");
        assertEq(oracle.withdrawable(), PAYMENT, "paid anyway");
    }

    function test_fulfil_gasFloor() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.prank(node);
        vm.expectPartialRevert(Oracle.InsufficientConsumerGas.selector);
        oracle.fulfillOracleRequest{gas: 400_000}(
            ev.requestId, ev.payment, ev.callbackAddr, ev.callbackFunctionId, ev.cancelExpiration, bytes32(uint256(1))
        );
        // The request is still open and can be fulfilled with enough gas.
        (bytes31 hash,) = oracle.getCommitment(ev.requestId);
        assertTrue(hash != bytes31(0), "still open");
        vm.prank(node);
        bool ok = oracle.fulfillOracleRequest{gas: 500_000}(
            ev.requestId, ev.payment, ev.callbackAddr, ev.callbackFunctionId, ev.cancelExpiration, bytes32(uint256(1))
        );
        assertTrue(ok, "fulfilled with enough gas");
    }

    function test_fulfil2_gasFloor() public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        vm.prank(node);
        vm.expectPartialRevert(Oracle.InsufficientConsumerGas.selector);
        oracle.fulfillOracleRequest2{gas: 400_000}(
            ev.requestId,
            ev.payment,
            ev.callbackAddr,
            ev.callbackFunctionId,
            ev.cancelExpiration,
            abi.encode(ev.requestId, uint256(1))
        );
    }

    /// With the least gas that passes the floor, the consumer still gets most of the 400k.
    function test_fulfil_consumerGetsAtLeastFloorShare() public {
        bytes32 id = requester.oracleRequest(
            PAYMENT, SPEC_ID, address(recorder), GasRecordingConsumer.callback.selector, 1, 1, ""
        );
        uint256 expiration = block.timestamp + 5 minutes;
        uint256 gasLimit = 420_000;
        bool ok;
        // Find a gas limit just above the floor (the settle part costs a few tens of thousands).
        for (; gasLimit < 600_000; gasLimit += 5000) {
            vm.prank(node);
            try oracle.fulfillOracleRequest{gas: gasLimit}(
                id, PAYMENT, address(recorder), GasRecordingConsumer.callback.selector, expiration, bytes32(0)
            ) returns (
                bool success
            ) {
                ok = success;
                break;
            } catch {}
        }
        assertTrue(ok, "callback ran");
        // 63/64 of what is left (>= 400k) minus the callback's own preamble.
        assertGe(recorder.gasAtCallback(), 380_000, "consumer gas");
        assertEq(recorder.lastRequestId(), id, "callback args");
    }

    // ------------------------------------------------------------------ fulfilment (multi word)

    function test_fulfil2_deliversAnswer() public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit IOracle.OracleResponse(ev.requestId);
        assertTrue(_fulfil2(ev, 1234), "callback ok");
        assertEq(consumer.latestAnswer(), 1234, "answer");
        assertEq(consumer.latestRequestId(), ev.requestId, "answered request");
        assertEq(oracle.withdrawable(), PAYMENT, "earned");
    }

    function test_fulfil2_acceptsVersion1Request() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        assertTrue(_fulfil2(ev, 77), "v1 request answered by fulfillOracleRequest2");
        assertEq(consumer.latestAnswer(), 77, "answer");
        assertEq(consumer.latestRequestId(), ev.requestId, "answered request");
    }

    function testFuzz_fulfil2_wrongFirstWordReverts(bytes32 firstWord) public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        vm.assume(firstWord != ev.requestId);
        vm.expectRevert(abi.encodeWithSelector(Oracle.ResponseIdMismatch.selector, ev.requestId, firstWord));
        vm.prank(node);
        oracle.fulfillOracleRequest2(
            ev.requestId,
            ev.payment,
            ev.callbackAddr,
            ev.callbackFunctionId,
            ev.cancelExpiration,
            abi.encode(firstWord, uint256(1))
        );
    }

    function test_fulfil2_tooShortReverts() public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        vm.expectRevert(abi.encodeWithSelector(Oracle.ResponseTooShort.selector, uint256(31)));
        vm.prank(node);
        oracle.fulfillOracleRequest2(
            ev.requestId, ev.payment, ev.callbackAddr, ev.callbackFunctionId, ev.cancelExpiration, new bytes(31)
        );
    }

    function test_fulfil2_unauthorizedReverts() public {
        RequestEvent memory ev = _requestPriceOperator(PAYMENT);
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnauthorizedSender.selector, address(this)));
        oracle.fulfillOracleRequest2(
            ev.requestId,
            ev.payment,
            ev.callbackAddr,
            ev.callbackFunctionId,
            ev.cancelExpiration,
            abi.encode(ev.requestId, uint256(1))
        );
    }

    // ------------------------------------------------------------------ cancellation

    function test_cancel_beforeExpirationReverts() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.warp(ev.cancelExpiration - 1);
        vm.expectRevert(
            abi.encodeWithSelector(Oracle.RequestNotExpired.selector, ev.cancelExpiration, ev.cancelExpiration - 1)
        );
        consumer.cancelRequest(ev.requestId, ev.payment, ev.callbackFunctionId, ev.cancelExpiration);
    }

    function test_cancel_refundsAfterExpiration() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        uint256 before = link.balanceOf(address(consumer));
        vm.warp(ev.cancelExpiration);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit IOracle.CancelOracleRequest(ev.requestId);
        consumer.cancelRequest(ev.requestId, ev.payment, ev.callbackFunctionId, ev.cancelExpiration);
        assertEq(link.balanceOf(address(consumer)), before + PAYMENT, "refund");
        assertEq(oracle.tokensInEscrow(), 0, "escrow");
        assertEq(oracle.withdrawable(), 0, "nothing earned");
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, ev.requestId));
        _fulfil(ev, 1);
    }

    function test_cancel_twiceReverts() public {
        bytes32 id =
            requester.oracleRequest(PAYMENT, SPEC_ID, address(requester), Requester.callback.selector, 1, 1, "");
        uint256 expiration = block.timestamp + 5 minutes;
        vm.warp(expiration + 1);
        requester.cancel(id, PAYMENT, Requester.callback.selector, expiration);
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, id));
        requester.cancel(id, PAYMENT, Requester.callback.selector, expiration);
    }

    function test_cancel_byOtherThanCallbackReverts() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.warp(ev.cancelExpiration);
        vm.expectRevert(abi.encodeWithSelector(Oracle.ParamsHashMismatch.selector, ev.requestId));
        oracle.cancelOracleRequest(ev.requestId, ev.payment, ev.callbackFunctionId, ev.cancelExpiration);
    }

    function test_cancel_wrongPaymentReverts() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        vm.warp(ev.cancelExpiration);
        vm.expectRevert(abi.encodeWithSelector(Oracle.ParamsHashMismatch.selector, ev.requestId));
        consumer.cancelRequest(ev.requestId, ev.payment + 1, ev.callbackFunctionId, ev.cancelExpiration);
    }

    function test_cancel_afterFulfilReverts() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        _fulfil(ev, 1);
        vm.warp(ev.cancelExpiration);
        // The client forgot the request when it was fulfilled.
        vm.expectRevert();
        consumer.cancelRequest(ev.requestId, ev.payment, ev.callbackFunctionId, ev.cancelExpiration);
        vm.expectRevert(abi.encodeWithSelector(Oracle.UnknownRequest.selector, ev.requestId));
        requester.cancel(ev.requestId, ev.payment, ev.callbackFunctionId, ev.cancelExpiration);
    }

    /// Random payments and times: cancellation works exactly from the expiration on.
    function testFuzz_cancel_onlyFromExpiration(uint256 payment, uint256 start, uint256 elapsed) public {
        payment = bound(payment, 0, CONSUMER_FUNDING);
        start = bound(start, 1, 10 ** 12);
        elapsed = bound(elapsed, 0, 1 hours);
        vm.warp(start);
        bytes32 id =
            requester.oracleRequest(payment, SPEC_ID, address(requester), Requester.callback.selector, 9, 1, "");
        uint256 expiration = start + 5 minutes;
        vm.warp(start + elapsed);
        uint256 before = link.balanceOf(address(requester));
        if (start + elapsed < expiration) {
            vm.expectRevert(abi.encodeWithSelector(Oracle.RequestNotExpired.selector, expiration, start + elapsed));
            requester.cancel(id, payment, Requester.callback.selector, expiration);
            assertEq(oracle.tokensInEscrow(), payment, "still escrowed");
        } else {
            requester.cancel(id, payment, Requester.callback.selector, expiration);
            assertEq(link.balanceOf(address(requester)), before + payment, "refunded");
            assertEq(oracle.tokensInEscrow(), 0, "escrow");
        }
    }

    /// Random payments and answers: the node's earnings equal the payments.
    function testFuzz_requestFulfilWithdraw(uint256 payment, uint256 value, address recipient) public {
        payment = bound(payment, 0, CONSUMER_FUNDING);
        vm.assume(recipient != address(0) && recipient != address(link) && recipient != address(oracle));
        RequestEvent memory ev = _requestPrice(payment);
        assertEq(ev.payment, payment, "payment");
        assertTrue(_fulfil(ev, value), "fulfilled");
        assertEq(consumer.latestAnswer(), value, "answer");
        assertEq(consumer.latestRequestId(), ev.requestId, "answered request");
        assertEq(oracle.withdrawable(), payment, "earned");
        uint256 before = link.balanceOf(recipient);
        vm.prank(owner);
        oracle.withdraw(recipient, payment);
        assertEq(link.balanceOf(recipient), before + payment, "withdrawn");
        assertEq(oracle.withdrawable(), 0, "nothing left");
    }

    // ------------------------------------------------------------------ owner functions

    function test_setAuthorizedSenders_replacesSet() public {
        address[] memory senders = new address[](2);
        senders[0] = makeAddr("a");
        senders[1] = makeAddr("b");
        vm.expectEmit(false, false, false, true, address(oracle));
        emit Oracle.AuthorizedSendersChanged(senders, owner);
        vm.prank(owner);
        oracle.setAuthorizedSenders(senders);
        assertFalse(oracle.isAuthorizedSender(node), "old sender removed");
        assertTrue(oracle.isAuthorizedSender(senders[0]), "a");
        assertTrue(oracle.isAuthorizedSender(senders[1]), "b");
        address[] memory got = oracle.getAuthorizedSenders();
        assertEq(got.length, 2, "length");
        assertEq(got[0], senders[0], "a listed");
        assertEq(got[1], senders[1], "b listed");
    }

    function testFuzz_setAuthorizedSenders_onlyOwner(address caller) public {
        vm.assume(caller != owner);
        address[] memory senders = new address[](1);
        senders[0] = caller;
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        vm.prank(caller);
        oracle.setAuthorizedSenders(senders);
    }

    function test_setAuthorizedSenders_validation() public {
        vm.startPrank(owner);
        vm.expectRevert(Oracle.EmptySenderList.selector);
        oracle.setAuthorizedSenders(new address[](0));

        address[] memory senders = new address[](2);
        senders[0] = node;
        vm.expectRevert(Oracle.ZeroAddressSender.selector);
        oracle.setAuthorizedSenders(senders);

        senders[1] = node;
        vm.expectRevert(abi.encodeWithSelector(Oracle.DuplicateSender.selector, node));
        oracle.setAuthorizedSenders(senders);
        vm.stopPrank();
        assertTrue(oracle.isAuthorizedSender(node), "unchanged after failures");
    }

    function testFuzz_withdraw_onlyOwner(address caller) public {
        vm.assume(caller != owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        vm.prank(caller);
        oracle.withdraw(caller, 0);
    }

    function test_withdraw_cannotTouchEscrow() public {
        _requestPrice(PAYMENT);
        vm.expectRevert(abi.encodeWithSelector(Oracle.InsufficientWithdrawableFunds.selector, PAYMENT, uint256(0)));
        vm.prank(owner);
        oracle.withdraw(owner, PAYMENT);
    }

    function test_withdraw_paysEarningsAndDonations() public {
        RequestEvent memory ev = _requestPrice(PAYMENT);
        _fulfil(ev, 1);
        link.transfer(address(oracle), 5 ether); // a plain transfer is withdrawable too
        _requestPrice(PAYMENT); // still escrowed
        assertEq(oracle.withdrawable(), PAYMENT + 5 ether, "withdrawable");

        vm.expectEmit(true, false, false, true, address(oracle));
        emit Oracle.LinkWithdrawn(owner, PAYMENT + 5 ether);
        vm.prank(owner);
        oracle.withdraw(owner, PAYMENT + 5 ether);
        assertEq(link.balanceOf(owner), PAYMENT + 5 ether, "owner paid");
        assertEq(link.balanceOf(address(oracle)), PAYMENT, "escrow kept");
    }
}
