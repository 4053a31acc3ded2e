-- AlterTable
ALTER TABLE "InboundEvent" ADD COLUMN     "answer" JSONB;

