-- CreateTable
CREATE TABLE "WorkflowKind" (
    "kind" TEXT NOT NULL,
    "description" TEXT,
    "inputSchema" JSONB,
    "registeredBy" TEXT NOT NULL,
    "registeredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorkflowKind_pkey" PRIMARY KEY ("kind")
);

