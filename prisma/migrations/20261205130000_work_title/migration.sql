-- AlterTable
ALTER TABLE "Work" ADD COLUMN     "title" TEXT;

