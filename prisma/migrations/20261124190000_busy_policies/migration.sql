-- AlterTable
ALTER TABLE "Work" ADD COLUMN     "interruptRequestedAt" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "InboundEvent" ADD COLUMN     "collectWindowMs" INTEGER;

