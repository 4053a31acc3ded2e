-- AlterTable
ALTER TABLE "InboundEvent" ADD COLUMN     "askedWorkIds" JSONB,
ADD COLUMN     "replyAddress" JSONB,
ADD COLUMN     "rerouteAt" TIMESTAMPTZ(3),
ADD COLUMN     "routePolicy" JSONB;

-- CreateIndex
CREATE INDEX "InboundEvent_rerouteAt_idx" ON "InboundEvent"("rerouteAt");

