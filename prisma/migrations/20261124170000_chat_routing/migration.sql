-- AlterEnum
ALTER TYPE "RouteDecision" ADD VALUE 'command';

-- AlterTable
ALTER TABLE "Work" ADD COLUMN     "replyAddress" JSONB;

