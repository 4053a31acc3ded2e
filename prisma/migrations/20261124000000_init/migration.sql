-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "WorkState" AS ENUM ('QUEUED', 'RUNNING', 'WAITING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "StepType" AS ENUM ('task', 'llm', 'send', 'sleep', 'wait', 'child');

-- CreateEnum
CREATE TYPE "StepStatus" AS ENUM ('running', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "WaitType" AS ENUM ('timer', 'human', 'event', 'webhook', 'child', 'budget');

-- CreateEnum
CREATE TYPE "WaitStatus" AS ENUM ('open', 'satisfied', 'timed_out', 'cancelled');

-- CreateEnum
CREATE TYPE "OnTimeout" AS ENUM ('fail', 'resume', 'escalate');

-- CreateEnum
CREATE TYPE "RouteDecision" AS ENUM ('resumed', 'inbox', 'collected', 'interrupted', 'rejected', 'asked', 'opened', 'dropped');

-- CreateEnum
CREATE TYPE "OutboxStatus" AS ENUM ('pending', 'sent', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "ScheduleKind" AS ENUM ('cron', 'interval', 'once');

-- CreateEnum
CREATE TYPE "MissedFirePolicy" AS ENUM ('fire_once', 'skip');

-- CreateTable
CREATE TABLE "Work" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "state" "WorkState" NOT NULL,
    "pausedFrom" "WorkState",
    "sourceType" TEXT NOT NULL,
    "sourceId" TEXT,
    "conversationKey" TEXT,
    "parentId" UUID,
    "input" JSONB NOT NULL,
    "output" JSONB,
    "error" JSONB,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "retryPolicy" JSONB NOT NULL,
    "runAfter" TIMESTAMPTZ(3),
    "runSeq" INTEGER NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseToken" BIGINT NOT NULL DEFAULT 0,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "lastHeartbeatAt" TIMESTAMPTZ(3),
    "checkpointSeq" INTEGER NOT NULL DEFAULT 0,
    "waitReason" TEXT,
    "pauseRequested" BOOLEAN NOT NULL DEFAULT false,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "version" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Work_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Step" (
    "id" UUID NOT NULL,
    "workId" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "type" "StepType" NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "status" "StepStatus" NOT NULL,
    "input" JSONB,
    "output" JSONB,
    "error" JSONB,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "workerId" TEXT,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Step_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Wait" (
    "id" UUID NOT NULL,
    "workId" UUID NOT NULL,
    "stepSeq" INTEGER NOT NULL,
    "type" "WaitType" NOT NULL,
    "status" "WaitStatus" NOT NULL DEFAULT 'open',
    "conversationKey" TEXT,
    "correlationKey" TEXT,
    "matchKeys" JSONB,
    "expects" JSONB,
    "responders" JSONB,
    "resumeChannel" TEXT,
    "promptRef" TEXT,
    "timeoutAt" TIMESTAMPTZ(3),
    "onTimeout" "OnTimeout" NOT NULL DEFAULT 'fail',
    "escalation" JSONB,
    "escalationRung" INTEGER NOT NULL DEFAULT 0,
    "defaultValue" JSONB,
    "result" JSONB,
    "satisfiedByEventId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Wait_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InboundEvent" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "channel" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "conversationKey" TEXT,
    "correlationKey" TEXT,
    "actor" JSONB,
    "raw" JSONB NOT NULL,
    "body" JSONB NOT NULL,
    "decision" "RouteDecision" NOT NULL,
    "reason" TEXT NOT NULL,
    "workId" UUID,
    "waitId" UUID,
    "consumedAt" TIMESTAMPTZ(3),
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InboundEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkEvent" (
    "id" BIGSERIAL NOT NULL,
    "workId" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB,
    "actor" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorkEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Outbox" (
    "id" UUID NOT NULL,
    "workId" UUID,
    "stepId" UUID,
    "channel" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "status" "OutboxStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "providerMessageId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sentAt" TIMESTAMPTZ(3),

    CONSTRAINT "Outbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Schedule" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "ScheduleKind" NOT NULL,
    "cron" TEXT,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "intervalMs" INTEGER,
    "runAt" TIMESTAMPTZ(3),
    "workflowKind" TEXT NOT NULL,
    "input" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "missedPolicy" "MissedFirePolicy" NOT NULL DEFAULT 'fire_once',
    "nextFireAt" TIMESTAMPTZ(3),
    "lastFiredAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Schedule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelCall" (
    "id" UUID NOT NULL,
    "workId" UUID NOT NULL,
    "stepId" UUID,
    "provider" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "promptHash" TEXT NOT NULL,
    "inputTokens" INTEGER NOT NULL DEFAULT 0,
    "outputTokens" INTEGER NOT NULL DEFAULT 0,
    "cachedTokens" INTEGER NOT NULL DEFAULT 0,
    "costUsd" DECIMAL(14,6) NOT NULL DEFAULT 0,
    "finishReason" TEXT,
    "toolCalls" JSONB,
    "latencyMs" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelCall_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Work_state_updatedAt_idx" ON "Work"("state", "updatedAt");

-- CreateIndex
CREATE INDEX "Work_conversationKey_state_idx" ON "Work"("conversationKey", "state");

-- CreateIndex
CREATE INDEX "Work_state_leaseExpiresAt_idx" ON "Work"("state", "leaseExpiresAt");

-- CreateIndex
CREATE INDEX "Work_state_runAfter_idx" ON "Work"("state", "runAfter");

-- CreateIndex
CREATE INDEX "Work_kind_createdAt_idx" ON "Work"("kind", "createdAt");

-- CreateIndex
CREATE INDEX "Work_parentId_idx" ON "Work"("parentId");

-- CreateIndex
CREATE INDEX "Work_createdAt_idx" ON "Work"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Step_idempotencyKey_key" ON "Step"("idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "Step_workId_seq_key" ON "Step"("workId", "seq");

-- CreateIndex
CREATE INDEX "Wait_conversationKey_status_idx" ON "Wait"("conversationKey", "status");

-- CreateIndex
CREATE INDEX "Wait_correlationKey_status_idx" ON "Wait"("correlationKey", "status");

-- CreateIndex
CREATE INDEX "Wait_status_timeoutAt_idx" ON "Wait"("status", "timeoutAt");

-- CreateIndex
CREATE UNIQUE INDEX "Wait_workId_stepSeq_key" ON "Wait"("workId", "stepSeq");

-- CreateIndex
CREATE INDEX "InboundEvent_workId_decision_seq_idx" ON "InboundEvent"("workId", "decision", "seq");

-- CreateIndex
CREATE INDEX "InboundEvent_receivedAt_idx" ON "InboundEvent"("receivedAt");

-- CreateIndex
CREATE INDEX "InboundEvent_conversationKey_seq_idx" ON "InboundEvent"("conversationKey", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "InboundEvent_channel_externalId_key" ON "InboundEvent"("channel", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "WorkEvent_workId_seq_key" ON "WorkEvent"("workId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "Outbox_idempotencyKey_key" ON "Outbox"("idempotencyKey");

-- CreateIndex
CREATE INDEX "Outbox_status_nextAttemptAt_idx" ON "Outbox"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "Outbox_channel_target_providerMessageId_idx" ON "Outbox"("channel", "target", "providerMessageId");

-- CreateIndex
CREATE INDEX "Outbox_workId_idx" ON "Outbox"("workId");

-- CreateIndex
CREATE UNIQUE INDEX "Schedule_name_key" ON "Schedule"("name");

-- CreateIndex
CREATE INDEX "Schedule_enabled_nextFireAt_idx" ON "Schedule"("enabled", "nextFireAt");

-- CreateIndex
CREATE INDEX "ModelCall_workId_idx" ON "ModelCall"("workId");

-- CreateIndex
CREATE INDEX "ModelCall_createdAt_idx" ON "ModelCall"("createdAt");

-- AddForeignKey
ALTER TABLE "Work" ADD CONSTRAINT "Work_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Work"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Step" ADD CONSTRAINT "Step_workId_fkey" FOREIGN KEY ("workId") REFERENCES "Work"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Wait" ADD CONSTRAINT "Wait_workId_fkey" FOREIGN KEY ("workId") REFERENCES "Work"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InboundEvent" ADD CONSTRAINT "InboundEvent_workId_fkey" FOREIGN KEY ("workId") REFERENCES "Work"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorkEvent" ADD CONSTRAINT "WorkEvent_workId_fkey" FOREIGN KEY ("workId") REFERENCES "Work"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Outbox" ADD CONSTRAINT "Outbox_workId_fkey" FOREIGN KEY ("workId") REFERENCES "Work"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Outbox" ADD CONSTRAINT "Outbox_stepId_fkey" FOREIGN KEY ("stepId") REFERENCES "Step"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelCall" ADD CONSTRAINT "ModelCall_workId_fkey" FOREIGN KEY ("workId") REFERENCES "Work"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelCall" ADD CONSTRAINT "ModelCall_stepId_fkey" FOREIGN KEY ("stepId") REFERENCES "Step"("id") ON DELETE SET NULL ON UPDATE CASCADE;

