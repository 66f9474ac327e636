package org.openkcm.keystore.core.saga;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.openkcm.keystore.api.KeyId;
import org.openkcm.keystore.core.journal.Intent;
import org.openkcm.keystore.core.journal.IntentJournal;
import org.openkcm.keystore.core.journal.Outcome;
import org.openkcm.keystore.core.log.Logs;
import org.openkcm.keystore.core.saga.StepWatcher.When;
import org.osgi.service.log.Logger;

/**
 * Runs sagas with the intent journal, and finishes those a crash interrupted.
 * <p>
 * <b>Run</b>: BEGIN is forced to the journal, then each step runs and is recorded done. When step
 * {@code k} fails:
 * <ul>
 * <li>before the commit point is recorded done: step {@code k} is compensated (it may have taken
 * effect before it failed, as a lost acknowledgement does), then {@code k-1 … 0}, in reverse; the
 * operation ends COMPENSATED and the failure goes to the caller;</li>
 * <li>after it: the step is retried; if it keeps failing, the operation stays open
 * ({@link SagaResult.State#PENDING_FORWARD}) and recovery finishes it.</li>
 * </ul>
 * A compensation that keeps failing leaves the operation open too
 * ({@link SagaResult.State#PENDING_COMPENSATION}).
 * <p>
 * <b>Recovery</b> of an unfinished intent ({@link #recover}): if the commit point is recorded done
 * (or the saga always goes forward), the steps not recorded done run, in order (they are
 * idempotent, so one that did take effect before the crash is harmless to repeat); otherwise every
 * step up to the first one not recorded done is compensated, in reverse (that one included: it may
 * have taken effect before the crash). Then the END record is written.
 */
public final class SagaRunner {
    static final int DEFAULT_ATTEMPTS = 3;
    static final Duration DEFAULT_BACKOFF = Duration.ofMillis(20);

    private final IntentJournal journal;
    private final Logger logger;
    private final Set<UUID> inFlight = ConcurrentHashMap.newKeySet();
    private volatile StepWatcher watcher = StepWatcher.NONE;
    private volatile int attempts = DEFAULT_ATTEMPTS;
    private volatile Duration backoff = DEFAULT_BACKOFF;
    private volatile Runnable leftOpen = () -> {
    };

    public SagaRunner(IntentJournal journal, Logger logger) {
        this.journal = journal;
        this.logger = logger;
    }

    public IntentJournal journal() {
        return journal;
    }

    /** Who is told of each step's progress (crash tests only: see {@link StepWatcher}). */
    public SagaRunner watcher(StepWatcher watcher) {
        this.watcher = watcher == null ? StepWatcher.NONE : watcher;
        return this;
    }

    /**
     * Called (on the caller's thread, after the run) whenever a run leaves its operation open in the
     * journal, so that recovery tries it again while the runtime runs rather than at the next start.
     */
    public SagaRunner whenLeftOpen(Runnable listener) {
        this.leftOpen = listener == null ? () -> {
        } : listener;
        return this;
    }

    /** How many times a retriable step or a compensation is tried before the operation is left open. */
    public SagaRunner retries(int attempts, Duration backoff) {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1");
        }
        this.attempts = attempts;
        this.backoff = backoff;
        return this;
    }

    /**
     * Runs a saga: journals its intent, then its steps.
     *
     * @param keys every key version the run may create, change or delete (reconciliation treats them
     *            as in doubt while the operation is open)
     * @param params what the steps need, decided before the first step
     * @throws org.openkcm.keystore.api.UnavailableException if the journal cannot record the intent
     *             (nothing was done)
     */
    public SagaResult run(Saga saga, List<KeyId> keys, Map<String, String> params) {
        return run(saga, keys, params, Map.of());
    }

    /**
     * Runs a saga with objects its steps need that are not journaled (see
     * {@link SagaContext#attachment}).
     */
    public SagaResult run(Saga saga, List<KeyId> keys, Map<String, String> params, Map<String, Object> attachments) {
        SagaResult result = runSteps(saga, keys, params, attachments);
        if (result.state() == SagaResult.State.PENDING_FORWARD || result.state() == SagaResult.State.PENDING_COMPENSATION) {
            leftOpen.run();
        }
        return result;
    }

    private SagaResult runSteps(Saga saga, List<KeyId> keys, Map<String, String> params, Map<String, Object> attachments) {
        UUID id = UUID.randomUUID();
        inFlight.add(id); // before the intent is visible: a recovery pass must never take a run under way
        Intent intent;
        try {
            intent = journal.begin(id, saga.kind(), keys, params, saga.stepNames());
        } catch (RuntimeException e) {
            inFlight.remove(id);
            throw e;
        }
        try {
            SagaContext context = new SagaContext(intent.id(), saga.kind(), keys, params, Map.of(), false, attachments);
            List<Step> steps = saga.steps();
            for (int k = 0; k < steps.size(); k++) {
                Step step = steps.get(k);
                boolean forward = saga.commitPoint() < k;
                watcher.reached(saga.kind(), k, step.name(), When.BEFORE);
                try {
                    if (forward) {
                        retrying(step, () -> step.action().apply(context));
                    } else {
                        step.action().apply(context);
                    }
                } catch (RuntimeException failure) {
                    return forward ? pendingForward(intent, saga, k, failure)
                            : compensate(intent.id(), saga, context, k, k, failure);
                }
                watcher.reached(saga.kind(), k, step.name(), When.AFTER);
                try {
                    journal.stepDone(intent.id(), k, context.takeStepNotes());
                } catch (RuntimeException journalFailure) {
                    // the step took effect but cannot be recorded: undo it while it is still ours to undo
                    return forward ? pendingForward(intent, saga, k, journalFailure)
                            : compensate(intent.id(), saga, context, k, k, journalFailure);
                }
                watcher.reached(saga.kind(), k, step.name(), When.RECORDED);
            }
            try {
                journal.end(intent.id(), Outcome.COMMITTED);
            } catch (RuntimeException journalFailure) {
                Logs.error(logger, "Operation {} {}: every step is done but the journal cannot record its end ({}); "
                        + "recovery will finish it", saga.kind(), intent.id(), journalFailure.getMessage());
                return new SagaResult(intent.id(), SagaResult.State.PENDING_FORWARD, -1, journalFailure);
            }
            return new SagaResult(intent.id(), SagaResult.State.COMMITTED, -1, null);
        } finally {
            inFlight.remove(intent.id());
        }
    }

    /**
     * Finishes every unfinished operation of the journal that is not running in this process: rolls
     * it forward or compensates it (see the class comment). Operations of a kind not among the
     * definitions stay open and are reported.
     */
    public RecoveryReport recover(Collection<Saga> definitions) {
        Map<String, Saga> byKind = new HashMap<>();
        definitions.forEach(s -> byKind.put(s.kind(), s));
        List<RecoveryReport.Entry> entries = new ArrayList<>();
        for (Intent listed : journal.unfinished()) {
            if (!inFlight.add(listed.id())) {
                continue; // running now in this process
            }
            try {
                // read again once it is ours: a run or another pass may have ended it since the list
                Optional<Intent> intent = journal.get(listed.id());
                if (intent.isPresent()) {
                    entries.add(recoverOne(intent.get(), byKind.get(listed.kind())));
                }
            } finally {
                inFlight.remove(listed.id());
            }
        }
        RecoveryReport report = new RecoveryReport(entries);
        if (!entries.isEmpty()) {
            Logs.info(logger, "Recovery of the intent journal: {}", report);
        }
        return report;
    }

    /**
     * Finishes one unfinished operation now, as {@link #recover} would (a caller that must come
     * after it, such as a new version of a name an open delete covers).
     *
     * @return what became of it; empty if it is not open, or is running now in this process
     */
    public Optional<RecoveryReport.Entry> finish(UUID id, Collection<Saga> definitions) {
        if (!inFlight.add(id)) {
            return Optional.empty();
        }
        try {
            Optional<Intent> still = journal.get(id); // read once it is ours: it may have ended meanwhile
            if (still.isEmpty()) {
                return Optional.empty();
            }
            Saga saga = definitions.stream().filter(s -> s.kind().equals(still.get().kind())).findFirst().orElse(null);
            return Optional.of(recoverOne(still.get(), saga));
        } finally {
            inFlight.remove(id);
        }
    }

    /**
     * Takes an operation a run left open, for the caller to finish it itself (as migration does
     * after a failed delete of the source): no recovery pass takes it until {@link #release}.
     *
     * @return false if a recovery pass has it now, or it is no longer open (recovery finished it)
     */
    public boolean claim(UUID id) {
        if (!inFlight.add(id)) {
            return false;
        }
        if (journal.get(id).isEmpty()) {
            inFlight.remove(id);
            return false;
        }
        return true;
    }

    /** Gives back an operation taken with {@link #claim}. */
    public void release(UUID id) {
        inFlight.remove(id);
    }

    /** True if this process is running (or recovering) the operation now. */
    public boolean running(UUID id) {
        return inFlight.contains(id);
    }

    private RecoveryReport.Entry recoverOne(Intent intent, Saga saga) {
        if (saga == null) {
            Logs.error(logger, "Unfinished operation {} of unknown kind {}: left open", intent.id(), intent.kind());
            return new RecoveryReport.Entry(intent, SagaResult.State.PENDING_COMPENSATION, "unknown kind " + intent.kind());
        }
        if (!saga.stepNames().equals(intent.steps())) {
            Logs.error(logger, "Unfinished operation {} {}: its steps {} are not those of this version {}; left open",
                    intent.kind(), intent.id(), intent.steps(), saga.stepNames());
            return new RecoveryReport.Entry(intent, SagaResult.State.PENDING_COMPENSATION,
                    "its steps " + intent.steps() + " differ from this version's " + saga.stepNames());
        }
        SagaContext context = new SagaContext(intent.id(), intent.kind(), intent.keys(), intent.params(), intent.notes(),
                true);
        int commit = saga.commitPoint();
        int n = saga.steps().size();
        boolean forward = commit < 0 || intent.isDone(commit) || intent.stepsDone() == n;
        if (forward) {
            for (int k = 0; k < n; k++) {
                if (intent.isDone(k)) {
                    continue;
                }
                Step step = saga.steps().get(k);
                try {
                    retrying(step, () -> step.action().apply(context));
                    journal.stepDone(intent.id(), k, context.takeStepNotes());
                } catch (RuntimeException e) {
                    Logs.error(logger, "Recovery of {} {}: step {} ({}) still fails: {}; left open", intent.kind(),
                            intent.id(), k, step.name(), e.getMessage());
                    return new RecoveryReport.Entry(intent, SagaResult.State.PENDING_FORWARD,
                            "step " + step.name() + " fails: " + e.getMessage());
                }
            }
            journal.end(intent.id(), Outcome.COMMITTED);
            String kept = context.note(KeystoreSagas.KEPT).map(v -> "; versions kept: " + v).orElse("");
            Logs.info(logger, "Recovery of {} {}: rolled forward{}", intent.kind(), intent.id(), kept);
            return new RecoveryReport.Entry(intent, SagaResult.State.COMMITTED, "rolled forward" + kept);
        }
        int from = Math.min(intent.stepsDone(), n - 1);
        SagaResult result = compensate(intent.id(), saga, context, from, -1, null);
        String detail = result.state() == SagaResult.State.COMPENSATED ? "compensated steps " + from + "…0"
                : "a compensation fails: " + result.failure().getMessage();
        return new RecoveryReport.Entry(intent, result.state(), detail);
    }

    /** Compensates steps {@code from … 0}; ends the operation COMPENSATED if every compensation succeeds. */
    private SagaResult compensate(UUID id, Saga saga, SagaContext context, int from, int failedStep,
            RuntimeException failure) {
        RuntimeException compensationFailure = null;
        for (int k = from; k >= 0; k--) {
            Step step = saga.steps().get(k);
            try {
                retrying(step, () -> step.compensation().apply(context));
            } catch (RuntimeException e) {
                Logs.error(logger, "Operation {} {}: the compensation of step {} ({}) fails: {}", saga.kind(), id, k,
                        step.name(), e.getMessage());
                if (compensationFailure == null) {
                    compensationFailure = e;
                } else {
                    compensationFailure.addSuppressed(e);
                }
                continue; // undo what can be undone; the operation stays open for the rest
            }
            watcher.reached(saga.kind(), k, step.name(), When.COMPENSATE);
        }
        RuntimeException reported = failure != null ? failure : compensationFailure;
        if (compensationFailure != null) {
            if (failure != null) {
                failure.addSuppressed(compensationFailure);
            }
            return new SagaResult(id, SagaResult.State.PENDING_COMPENSATION, failedStep, reported);
        }
        try {
            journal.end(id, Outcome.COMPENSATED);
        } catch (RuntimeException journalFailure) {
            // recovery will compensate again, harmlessly (compensations are idempotent)
            if (failure != null) {
                failure.addSuppressed(journalFailure);
            }
            return new SagaResult(id, SagaResult.State.PENDING_COMPENSATION, failedStep,
                    failure != null ? failure : journalFailure);
        }
        if (failure != null) {
            Logs.warn(logger, "Operation {} {}: step {} ({}) failed: {}; steps {}…0 compensated", saga.kind(), id,
                    failedStep, saga.steps().get(failedStep).name(), failure.getMessage(), from);
        }
        return new SagaResult(id, SagaResult.State.COMPENSATED, failedStep, failure);
    }

    private SagaResult pendingForward(Intent intent, Saga saga, int k, RuntimeException failure) {
        Logs.error(logger, "Operation {} {}: step {} ({}) fails after the commit point: {}; left open for recovery",
                saga.kind(), intent.id(), k, saga.steps().get(k).name(), failure.getMessage());
        return new SagaResult(intent.id(), SagaResult.State.PENDING_FORWARD, k, failure);
    }

    private void retrying(Step step, Runnable action) {
        int max = step.attempts() > 0 ? step.attempts() : attempts;
        for (int attempt = 1; ; attempt++) {
            try {
                action.run();
                return;
            } catch (RuntimeException e) {
                if (attempt >= max) {
                    throw e;
                }
                pause(backoff.multipliedBy(attempt));
            }
        }
    }

    private static void pause(Duration d) {
        if (d.isZero() || d.isNegative()) {
            return;
        }
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
